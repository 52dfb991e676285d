import Foundation
import TestSupport
import Values
import WeightFiles
import XCTest
@testable import Models
@testable import PEFT
@testable import TensorCore

/// LoRA parity with peft 0.21 on the tiny models (scripts/make_lora_fixtures.py): loss, logits and every trainable
/// gradient with peft's own adapters loaded, the adapter file layout, merging, and the errors a wrong setup gets.
final class LoRATests: XCTestCase {
    static let fixtures = ["llama", "gpt2", "opt", "mistral"]
    let be = CPUBackend(threads: 2)

    func modelFolder(_ name: String) -> URL { TestSupport.packageRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/\(name)") }
    func adapterFolder(_ name: String) -> URL { TestSupport.packageRoot.appendingPathComponent("Tests/PEFTTests/Fixtures/\(name)") }

    func loadBase(_ name: String) throws -> CausalLM {
        let dir = modelFolder(name)
        let model = CausalLM(config: try DecoderConfig.load(directory: dir), backend: be)
        try ModelCheckpoint.load(model, from: try weightSource(directory: dir))
        return model
    }

    func batch(_ name: String) throws -> ModelInput { try fixtureBatch(modelFolder(name)) }

    func checkpointValues(_ p: Parameter, _ values: [Float]) -> [Float] {
        p.transposedInCheckpoint ? AdapterFile.transpose(values, rows: p.value.shape[0], columns: p.value.shape[1]) : values
    }

    func testLossLogitsAndGradientsMatchPEFT() throws {
        for name in Self.fixtures {
            let model = try loadBase(name)
            let loaded = try AdapterFile.load(directory: adapterFolder(name), into: model)
            let input = try batch(name)
            let expected = try SafeTensorsFile(url: adapterFolder(name).appendingPathComponent("expected.safetensors"))
            assertClose(realLogits(model, input), try expected.floats("logits"), "\(name) logits")
            let grads = try SafeTensorsFile(url: adapterFolder(name).appendingPathComponent("grads.safetensors"))
            XCTAssertEqual(Set(loaded.entries.map(\.key)), Set(grads.names), "\(name): trainable parameters are peft's")
            let trained = Set(loaded.entries.map { ObjectIdentifier($0.parameter) })
            for p in model.params.all where !trained.contains(ObjectIdentifier(p)) {
                XCTAssertNil(p.grad, "\(name): base parameter \(p.name) is frozen")
            }
            for checkpointing in [false, true] {
                for e in loaded.entries { e.parameter.grad?.zero() }
                model.gradientCheckpointing = checkpointing
                let count = input.shiftedLabels.filter { $0 != -100 }.count
                let r = model.forwardBackward(input, gradScale: 1 / Float(count))
                XCTAssertEqual(Float(r.lossSum / Double(r.count)), try expected.floats("loss")[0], accuracy: 2e-6, "\(name) loss")
                for e in loaded.entries {
                    let got = checkpointValues(e.parameter, try XCTUnwrap(e.parameter.grad, e.key).toArray())
                    assertClose(got, try grads.floats(e.key), rtol: 1e-4, atol: 1e-6, "\(name) grad \(e.key) (checkpointing \(checkpointing))")
                }
            }
        }
    }

    /// The LoRA path alone against central differences. The layer computes in Float, so the numeric gradient is
    /// taken of the Float forward with the loss summed in Double; the adapter is linear in A, in B and in x, so a large
    /// step (1e-2) has no truncation error and keeps Float rounding small next to it — hence 1e-2 relative.
    func testLoRALinearBackwardMatchesNumericGradient() throws {
        let params = ParameterSet()
        let layer = LinearLayer(params, "model.layers.0.mlp.down_proj", inFeatures: 5, outFeatures: 3, bias: false)
        let lora = LoRALinear(base: layer, r: 2, alpha: 3, dropout: 0.3, useRSLoRA: false, initWeights: .none, seed: 7, index: 0)
        var rng = SeededRandom(seed: 11, stream: 0)
        let n = 4
        let x = Tensor(shape: [n, 5], values: (0..<(n * 5)).map { _ in rng.uniform(1) })
        let g = (0..<(n * 3)).map { _ in Double(rng.uniform(1)) }
        func context(save: Bool) -> StepContext {
            StepContext(backend: be, batch: 1, seqLen: n, positions: (0..<n).map(Int32.init), keyValid: nil, segmentIds: nil,
                        training: true, save: save, dropoutSeed: 5)
        }
        func loss() -> Double {
            let y = Tensor(zeros: [n, 3])
            lora.forward(x, into: y, context(save: false))
            return zip(y.toArray(), g).reduce(0) { $0 + Double($1.0) * $1.1 }
        }
        let ctx = context(save: true)
        lora.forward(x, into: Tensor(zeros: [n, 3]), ctx)
        let dx = Tensor(zeros: [n, 5])
        lora.backward(Tensor(shape: [n, 3], values: g.map(Float.init)), ctx, dx: dx)
        let h: Float = 1e-2
        for (what, t, analytic) in [("A", lora.loraA.value, lora.loraA.grad!), ("B", lora.loraB.value, lora.loraB.grad!), ("x", x, dx)] {
            var numeric: [Float] = []
            for i in 0..<t.count {
                let keep = t.floats[i]
                t.floats[i] = keep + h; let up = loss()
                t.floats[i] = keep - h; let down = loss()
                t.floats[i] = keep
                numeric.append(Float((up - down) / Double(2 * h)))
            }
            XCTAssertTrue(numeric.contains { $0 != 0 }, "\(what): the check sees a gradient")
            assertClose(analytic.toArray(), numeric, rtol: 1e-2, atol: 1e-3, "d\(what)")
        }
        // Dropout really drops on the adapter path: some input entries get no gradient at all.
        XCTAssertTrue(dx.toArray().contains(0), "dropout masks part of x")
    }

    func testSavedAdapterHasPEFTLayout() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in Self.fixtures {
            let model = try loadBase(name)
            let loaded = try AdapterFile.load(directory: adapterFolder(name), into: model)
            let out = dir.appendingPathComponent(name)
            try AdapterFile.save(model: model, adapters: loaded.adapters, config: loaded.config,
                                 baseModel: "Tests/ModelsTests/Fixtures/\(name)", to: out)
            let saved = try SafeTensorsFile(url: out.appendingPathComponent(AdapterFile.weightsName))
            let peft = try SafeTensorsFile(url: adapterFolder(name).appendingPathComponent(AdapterFile.weightsName))
            XCTAssertEqual(Set(saved.names), Set(peft.names), "\(name): same keys as peft's save_pretrained")
            for k in peft.names {
                XCTAssertEqual(try saved.info(k).shape, try peft.info(k).shape, k)
                XCTAssertEqual(try saved.info(k).dtype, .F32, k)
                XCTAssertEqual(try saved.floats(k), try peft.floats(k), k)
            }
            let mine = try JSON.parse(String(decoding: try Data(contentsOf: out.appendingPathComponent(AdapterFile.configName)), as: UTF8.self))
            let theirs = try JSON.parse(String(decoding: try Data(contentsOf: adapterFolder(name).appendingPathComponent(AdapterFile.configName)), as: UTF8.self))
            XCTAssertEqual(Array(try XCTUnwrap(mine.objectValue).keys), Array(try XCTUnwrap(theirs.objectValue).keys), "\(name): peft's fields, sorted")
            for key in ["peft_type", "task_type", "r", "lora_alpha", "lora_dropout", "bias", "use_rslora", "fan_in_fan_out",
                        "modules_to_save", "init_lora_weights", "inference_mode", "base_model_name_or_path", "use_dora"] {
                XCTAssertEqual(mine[key], theirs[key], "\(name): \(key)")
            }
            let targets = { (v: Value) in Set((v["target_modules"]?.arrayValue ?? []).compactMap(\.stringValue)) }
            XCTAssertEqual(targets(mine), targets(theirs), "\(name): target_modules")
            XCTAssertEqual(try AdapterFile.readConfig(directory: out), loaded.config, "\(name): the config reads back")
        }
    }

    func testFreshAdapterStartsAtTheBaseModelAndMatchesPEFTKeys() throws {
        let model = try loadBase("llama"), input = try batch("llama")
        let before = realLogits(model, input)
        let adapters = try LoRA.apply(to: model, r: 4, alpha: 8, dropout: 0.1, targets: .allLinear, useRSLoRA: false, bias: "none", seed: 3)
        XCTAssertEqual(realLogits(model, input), before, "B starts at zero")
        for a in adapters {
            let bound = 1 / Float(a.inFeatures).squareRoot()
            XCTAssertTrue(a.loraA.value.toArray().allSatisfy { abs($0) <= bound }, "A within kaiming_uniform(a=√5)'s bound")
            XCTAssertTrue(a.loraA.value.toArray().contains { $0 != 0 })
            XCTAssertTrue(a.loraB.value.toArray().allSatisfy { $0 == 0 })
        }
        let again = try LoRA.apply(to: try loadBase("llama"), r: 4, alpha: 8, dropout: 0.1, targets: .allLinear, useRSLoRA: false, bias: "none", seed: 3)
        XCTAssertEqual(again.map { $0.loraA.value.toArray() }, adapters.map { $0.loraA.value.toArray() }, "the seed fixes the init")
        XCTAssertEqual(model.params.trainable.map(\.name), [], "every base parameter is frozen")
        XCTAssertEqual(LoRA.trainableParameters(model, adapters).map(\.name), adapters.flatMap { [$0.loraA.name, $0.loraB.name] })
        let keys = try AdapterFile.entries(model: model, adapters: adapters, config: LoRAConfig(r: 4, alpha: 8, targets: .allLinear)).map(\.key)
        XCTAssertEqual(Set(keys), Set(try SafeTensorsFile(url: adapterFolder("llama").appendingPathComponent(AdapterFile.weightsName)).names))

        let gaussian = try LoRA.apply(to: try loadBase("llama"), LoRAConfig(r: 4, alpha: 8, initWeights: .gaussian))
        let values = gaussian.flatMap { $0.loraA.value.toArray() }
        let std = (values.reduce(0) { $0 + Double($1 * $1) } / Double(values.count)).squareRoot()
        XCTAssertEqual(std, 0.25, accuracy: 0.05, "gaussian: std 1/r")
        XCTAssertEqual(gaussian.map(\.modulePath), ["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj",
                                                    "model.layers.1.self_attn.q_proj", "model.layers.1.self_attn.v_proj"], "peft's llama default")
        let random = try LoRA.apply(to: try loadBase("llama"), LoRAConfig(r: 4, alpha: 8, initWeights: .none))
        XCTAssertTrue(random.allSatisfy { $0.loraB.value.toArray().contains { $0 != 0 } }, "init_lora_weights false: B random too")
    }

    func testTargetSelectionByNameAndPattern() throws {
        let llama = try loadBase("llama")
        let picked = try LoRA.apply(to: llama, LoRAConfig(r: 2, alpha: 2, targets: .pattern(#"model\.layers\.0\.self_attn\.(q|v)_proj"#)))
        XCTAssertEqual(picked.map(\.modulePath), ["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.v_proj"])
        XCTAssertEqual(try LoRA.apply(to: try loadBase("llama"), LoRAConfig(r: 2, alpha: 2, targets: .names(["mlp.down_proj"]))).map(\.modulePath),
                       ["model.layers.0.mlp.down_proj", "model.layers.1.mlp.down_proj"])
    }

    func testBiasModes() throws {
        let gpt2 = try loadBase("gpt2")
        let adapters = try LoRA.apply(to: gpt2, LoRAConfig(r: 2, alpha: 4, targets: .names(["c_attn"]), bias: .all))
        XCTAssertEqual(adapters.count, 2)
        XCTAssertEqual(Set(LoRA.trainableParameters(gpt2, adapters).map(\.name)),
                       Set(gpt2.params.all.map(\.name).filter { $0.hasSuffix(".bias") } + adapters.flatMap { [$0.loraA.name, $0.loraB.name] }))
        let opt = try loadBase("opt")
        let optAdapters = try LoRA.apply(to: opt, LoRAConfig(r: 2, alpha: 4, bias: .loraOnly))
        XCTAssertEqual(Set(opt.params.trainable.compactMap { $0.name.hasSuffix(".bias") ? $0.name : nil }),
                       Set(optAdapters.compactMap { $0.baseBias?.name }))
    }

    func testMergedModelMatchesTheAdapterAndSavesAsPlainHF() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["llama", "gpt2", "mistral"] {
            let model = try loadBase(name), input = try batch(name)
            let loaded = try AdapterFile.load(directory: adapterFolder(name), into: model)
            let withAdapter = realLogits(model, input)
            try LoRA.merge(loaded.adapters, into: model)
            XCTAssertTrue(model.linearLayers.allSatisfy { $0.adapter == nil })
            assertClose(realLogits(model, input), withAdapter, "\(name): merged logits")
            let out = dir.appendingPathComponent(name)
            try ModelCheckpoint.save(model, to: out)
            let plain = CausalLM(config: try DecoderConfig.load(directory: out), backend: be)
            XCTAssertEqual(try ModelCheckpoint.load(plain, from: try weightSource(directory: out)), [], "\(name): a plain checkpoint")
            assertClose(realLogits(plain, input), withAdapter, "\(name): reloaded merged logits")
        }
    }

    func testWrongSetupsAreNamedErrors() throws {
        XCTAssertThrowsError(try LoRA.apply(to: try loadBase("llama"), LoRAConfig(r: 4, alpha: 8, targets: .names(["query", "value"])))) {
            let m = "\($0)"
            XCTAssertTrue(m.contains("Target modules [\"query\", \"value\"] not found in the base model"), m)
            XCTAssertTrue(m.contains("model.layers.0.self_attn.q_proj"), "lists the model's modules: \(m)")
        }
        XCTAssertThrowsError(try LoRA.apply(to: try loadBase("llama"), LoRAConfig(r: 4, alpha: 8, targets: .pattern("q_proj")))) {
            XCTAssertTrue("\($0)".contains("not found in the base model"), "a pattern must match the whole path: \($0)")
        }
        XCTAssertThrowsError(try LoRA.apply(to: try loadBase("llama"), r: 4, alpha: 8, dropout: 0, targets: .allLinear, useRSLoRA: false, bias: "some", seed: 0)) {
            XCTAssertTrue("\($0)".contains("lora_only"), "\($0)")
        }
        XCTAssertThrowsError(try LoRA.apply(to: try loadBase("llama"), LoRAConfig(r: 4, alpha: 8, modulesToSave: ["lm_hed"]))) {
            XCTAssertTrue("\($0)".contains("\"lm_hed\" matches no module") && "\($0)".contains("lm_head"), "\($0)")
        }
        let twice = try loadBase("llama")
        _ = try LoRA.apply(to: twice, LoRAConfig(r: 4, alpha: 8))
        XCTAssertThrowsError(try LoRA.apply(to: twice, LoRAConfig(r: 4, alpha: 8))) { XCTAssertTrue("\($0)".contains("already has an adapter"), "\($0)") }

        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        XCTAssertThrowsError(try AdapterFile.load(directory: dir, into: try loadBase("llama"))) {
            XCTAssertTrue("\($0)".contains(AdapterFile.configName), "\($0)")
        }
        for file in [AdapterFile.configName, AdapterFile.weightsName] {
            try FileManager.default.copyItem(at: adapterFolder("llama").appendingPathComponent(file), to: dir.appendingPathComponent(file))
        }
        let configURL = dir.appendingPathComponent(AdapterFile.configName)
        let original = try String(contentsOf: configURL, encoding: .utf8)
        try original.replacingOccurrences(of: "\"r\": 4", with: "\"r\": 8").write(to: configURL, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try AdapterFile.load(directory: dir, into: try loadBase("llama"))) {
            let m = "\($0)"
            XCTAssertTrue(m.contains(AdapterFile.weightsName) && m.contains(".lora_A.weight has shape [4, ") && m.contains("r=8"), m)
        }
        try original.replacingOccurrences(of: "\"model.layers.0.mlp.up_proj\",", with: "").write(to: configURL, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try AdapterFile.load(directory: dir, into: try loadBase("llama"))) {
            XCTAssertTrue("\($0)".contains("base_model.model.model.layers.0.mlp.up_proj.lora_"), "\($0)")
        }
        try original.replacingOccurrences(of: "\"use_dora\": false", with: "\"use_dora\": true").write(to: configURL, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try AdapterFile.load(directory: dir, into: try loadBase("llama"))) { XCTAssertTrue("\($0)".contains("use_dora"), "\($0)") }
        try original.write(to: configURL, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try AdapterFile.load(directory: dir, into: try loadBase("gpt2"))) {
            XCTAssertTrue("\($0)".contains("not found in the base model"), "a llama adapter on gpt2: \($0)")
        }
    }
}

