import Foundation
import TestSupport
import Values
import WeightFiles
import XCTest
@testable import Models
@testable import TensorCore

/// Whole-model parity with transformers on tiny random models (scripts/make_model_fixtures.py): logits at real
/// tokens, the mean loss over shifted labels, and every parameter's gradient.
final class ModelParityTests: XCTestCase {
    static let families = ["llama", "mistral", "qwen2", "gpt2", "opt", "opt350m", "gpt_neo"]
    let be = CPUBackend(threads: 2)

    func fixture(_ name: String) -> URL { TestSupport.packageRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/\(name)") }

    func load(_ name: String) throws -> CausalLM {
        let dir = fixture(name)
        let model = CausalLM(config: try DecoderConfig.load(directory: dir), backend: be)
        let unused = try ModelCheckpoint.load(model, from: try weightSource(directory: dir))
        XCTAssertEqual(unused, [], "\(name): every checkpoint tensor is used")
        return model
    }

    func batch(_ name: String) throws -> (ModelInput, SafeTensorsFile) {
        let f = try SafeTensorsFile(url: fixture(name).appendingPathComponent("batch.safetensors"))
        func ints(_ k: String) throws -> [Int32] { try f.floats(k).map { Int32($0) } }
        let shape = try f.info("input_ids").shape
        let mask = try ints("attention_mask").map { $0 != 0 }
        return (ModelInput(batch: shape[0], seqLen: shape[1], inputIds: try ints("input_ids"), labels: try ints("labels"), attentionMask: mask), f)
    }

    func testLogitsLossAndGradientsMatchTransformers() throws {
        for name in Self.families {
            let model = try load(name)
            let (input, f) = try batch(name)
            let logits = model.logits(input).toArray()
            let vocab = model.config.vocabSize
            var real: [Float] = []
            for (i, ok) in input.attentionMask!.enumerated() where ok { real += logits[(i * vocab)..<((i + 1) * vocab)] }
            assertClose(real, try f.floats("logits"), "\(name) logits")

            for p in model.params.all { p.setTrainable(true) }
            for checkpointing in [false, true] {
                model.params.zeroGradients()
                model.gradientCheckpointing = checkpointing
                let count = input.shiftedLabels.filter { $0 != -100 }.count
                let r = model.forwardBackward(input, gradScale: 1 / Float(count))
                XCTAssertEqual(r.count, count)
                XCTAssertEqual(Float(r.lossSum / Double(r.count)), try f.floats("loss")[0], accuracy: 2e-6, "\(name) loss")
                let grads = try SafeTensorsFile(url: fixture(name).appendingPathComponent("grads.safetensors"))
                for gname in grads.names {
                    let p = try XCTUnwrap(model.params[gname], "\(name): no parameter \(gname)")
                    var got = p.grad!.toArray()
                    if p.transposedInCheckpoint { got = ModelCheckpoint.transpose(got, rows: p.value.shape[0], columns: p.value.shape[1]) }
                    assertClose(got, try grads.floats(gname), rtol: 1e-4, atol: 1e-6, "\(name) grad \(gname) (checkpointing \(checkpointing))")
                }
            }
        }
    }

    func testSavedModelReloadsIdenticallyInHFLayout() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["gpt2", "llama"] {
            let model = try load(name)
            let out = dir.appendingPathComponent(name)
            try ModelCheckpoint.save(model, to: out)
            let saved = try SafeTensorsFile(url: out.appendingPathComponent("model.safetensors"))
            let original = try SafeTensorsFile(url: fixture(name).appendingPathComponent("model.safetensors"))
            XCTAssertEqual(Set(saved.names), Set(original.names), "\(name): same tensor names as save_pretrained")
            for n in original.names {
                XCTAssertEqual(try saved.info(n).shape, try original.info(n).shape, n)
                XCTAssertEqual(try saved.floats(n), try original.floats(n), n)
            }
            let config = try DecoderConfig.load(directory: out)
            XCTAssertEqual(config.family, model.config.family)
            let generation = try JSON.parse(bytes: [UInt8](try Data(contentsOf: out.appendingPathComponent("generation_config.json"))))
            XCTAssertEqual(generation["eos_token_id"]?.intValue, 2)
        }
    }

    func testBadCheckpointsAreNamedErrors() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try DecoderConfig.load(directory: dir)) { XCTAssertTrue("\($0)".contains("no config.json"), "\($0)") }
        try #"{"model_type": "bert", "vocab_size": 10}"#.write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try DecoderConfig.load(directory: dir)) { XCTAssertTrue("\($0)".contains("model_type \"bert\" is not supported"), "\($0)") }
        XCTAssertThrowsError(try weightSource(directory: dir)) { XCTAssertTrue("\($0)".contains("no model.safetensors"), "\($0)") }
        // llama's config with gpt2's weights
        let model = CausalLM(config: try DecoderConfig.load(directory: fixture("llama")), backend: be)
        XCTAssertThrowsError(try ModelCheckpoint.load(model, from: try weightSource(directory: fixture("gpt2")))) {
            XCTAssertTrue("\($0)".contains("missing"), "\($0)")
        }
        let wide = CausalLM(config: try DecoderConfig.load(directory: fixture("mistral")), backend: be)
        XCTAssertThrowsError(try ModelCheckpoint.load(wide, from: try weightSource(directory: fixture("llama")))) {
            XCTAssertTrue("\($0)".contains("shape"), "\($0)")
        }
    }
}


final class MemoryPlanTests: XCTestCase {
    /// The planned activations and transients against what a real step allocates (MemoryTracker), within 20 %.
    func testPlanMatchesTrackedPeakOfAStep() throws {
        let config = try DecoderConfig(json: ["model_type": "llama", "vocab_size": 512, "hidden_size": 64, "intermediate_size": 160,
                                              "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2,
                                              "tie_word_embeddings": true])
        for checkpointing in [false, true] {
            let model = CausalLM(config: config, backend: CPUBackend(threads: 2))
            for p in model.params.all { p.setTrainable(true); p.value.floats[0] = 0.01 }
            model.gradientCheckpointing = checkpointing
            let (b, t) = (4, 96)
            let ids = (0..<(b * t)).map { Int32($0 % 500) }
            let input = ModelInput(batch: b, seqLen: t, inputIds: ids, labels: ids)
            MemoryTracker.shared.resetPeak()
            let base = MemoryTracker.shared.liveBytes
            _ = model.forwardBackward(input, gradScale: 1e-3)
            let measured = MemoryTracker.shared.peakBytes - base
            let plan = MemoryPlan.plan(config, parameters: model.params.count, trainable: model.params.count, batch: b, seqLen: t,
                                       checkpointing: checkpointing)
            let planned = plan.activationBytes + plan.transientBytes
            XCTAssertEqual(Double(planned), Double(measured), accuracy: 0.2 * Double(measured),
                           "checkpointing \(checkpointing): planned \(planned) vs measured \(measured)")
        }
    }
}
