import Datasets
import Foundation
import Models
import PEFT
import TensorCore
import TestSupport
import Training
import Values
import XCTest

/// Five AdamW steps of LoRA + modules_to_save on a tied model against peft + torch.optim.AdamW
/// (scripts/make_tied_lora_fixtures.py): the untied lm_head (and embed_tokens) copies train as peft's do.
final class TiedModulesToSaveTrainingTests: XCTestCase {
    struct Persisted: ModelPersistence {
        func save(to directory: URL) throws {}
        func restore(from directory: URL) throws {}
    }

    func testLossesMatchPEFTAndAdamW() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["tied-head", "tied-both", "tied-ensure"] {
            let folder = TestSupport.packageRoot.appendingPathComponent("Tests/PEFTTests/Fixtures/\(name)")
            let v = try JSON.parse(bytes: [UInt8](try Data(contentsOf: folder.appendingPathComponent("train.json"))))
            let examples = try XCTUnwrap(v["examples"]?.arrayValue).map {
                TokenizedExample(inputIDs: $0["input_ids"]!.arrayValue!.map { $0.intValue! }, labels: $0["labels"]!.arrayValue!.map { $0.intValue! })
            }
            let log = try XCTUnwrap(v["log"]?.arrayValue)
            let base = TestSupport.packageRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/llama")
            let m = CausalLM(config: try DecoderConfig.load(directory: base), backend: CPUBackend(threads: 2))
            try ModelCheckpoint.load(m, from: try weightSource(directory: base))
            let loaded = try AdapterFile.load(directory: folder, into: m)
            let embedding = m.architecture.tokenEmbedding.value.toArray()
            var s = TrainerSettings(outputDir: dir.appendingPathComponent(name))
            s.maxSteps = log.count; s.batchSize = 2; s.gradientAccumulationSteps = 1; s.learningRate = 1e-3
            s.warmupSteps = 0; s.maxGradNorm = 1; s.weightDecay = 0; s.loggingSteps = 1; s.shuffle = false; s.saveSteps = 1000
            let t = try SFTTrainer(model: m, settings: s, trainItems: examples.count, collate: { Collator.pad($0.map { examples[$0] }, padID: 0) },
                                   evalBatches: [], persistence: Persisted(), digest: { _ in "" },
                                   trainable: LoRA.trainableParameters(m, loaded.adapters))
            let got = try t.train().state.logHistory.filter { $0["loss"] != nil }
            XCTAssertEqual(got.count, log.count, name)
            for (i, (g, want)) in zip(got, log).enumerated() {
                let loss = try XCTUnwrap(want["loss"]?.doubleValue), norm = try XCTUnwrap(want["grad_norm"]?.doubleValue)
                XCTAssertEqual(try XCTUnwrap(g["loss"]?.doubleValue), loss, accuracy: (i == 0 ? 1e-5 : 1e-3) * loss, "\(name) step \(i + 1) loss")
                XCTAssertEqual(try XCTUnwrap(g["grad_norm"]?.doubleValue), norm, accuracy: 1e-3 * norm, "\(name) step \(i + 1) grad_norm")
            }
            let moved = m.architecture.tokenEmbedding.value.toArray() != embedding
            XCTAssertEqual(moved, name != "tied-head", "\(name): the embedding moves only when it (or, kept tied, the head) trains")
        }
    }
}
