import Foundation
import Models
import WeightFiles

/// The batch a fixture script saved next to a model (`batch.safetensors`: input_ids, labels, attention_mask).
func fixtureBatch(_ folder: URL) throws -> ModelInput {
    let f = try SafeTensorsFile(url: folder.appendingPathComponent("batch.safetensors"))
    func ints(_ k: String) throws -> [Int32] { try f.floats(k).map { Int32($0) } }
    let shape = try f.info("input_ids").shape
    return ModelInput(batch: shape[0], seqLen: shape[1], inputIds: try ints("input_ids"), labels: try ints("labels"),
                      attentionMask: try ints("attention_mask").map { $0 != 0 })
}

/// The logits of the positions the attention mask keeps, flattened.
func realLogits(_ model: CausalLM, _ input: ModelInput) -> [Float] {
    let logits = model.logits(input).toArray(), vocab = model.config.vocabSize
    var real: [Float] = []
    for (i, ok) in input.attentionMask!.enumerated() where ok { real += logits[(i * vocab)..<((i + 1) * vocab)] }
    return real
}
