import Foundation
import TestSupport
import Values
import WeightFiles
import XCTest
@testable import Models
@testable import PEFT
@testable import TensorCore

/// modules_to_save of lm_head / embed_tokens on a tied model (scripts/make_tied_lora_fixtures.py): peft trains
/// untied copies, so sftrun must too — same loss, logits and gradients, peft's adapter keys, an untied merged model.
final class TiedModulesToSaveTests: XCTestCase {
    static let cases = ["tied-head": ["lm_head"], "tied-both": ["embed_tokens", "lm_head"]]
    let be = CPUBackend(threads: 2)
    let base = TestSupport.packageRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/llama")

    func fixture(_ name: String) -> URL { TestSupport.packageRoot.appendingPathComponent("Tests/PEFTTests/Fixtures/\(name)") }

    func loadBase() throws -> CausalLM {
        let model = CausalLM(config: try DecoderConfig.load(directory: base), backend: be)
        try ModelCheckpoint.load(model, from: try weightSource(directory: base))
        return model
    }

    func batch() throws -> ModelInput { try fixtureBatch(base) }

    func testLossLogitsAndGradientsOfTheUntiedCopiesMatchPEFT() throws {
        for (name, modules) in Self.cases.sorted(by: { $0.key < $1.key }) {
            let model = try loadBase()
            XCTAssertNil(model.architecture.head, "the base is tied")
            let loaded = try AdapterFile.load(directory: fixture(name), into: model)
            XCTAssertEqual(loaded.config.modulesToSave, modules)
            let head = try XCTUnwrap(model.architecture.head, "\(name): lm_head gets its own weight")
            XCTAssertFalse(head === model.architecture.tokenEmbedding)
            XCTAssertEqual(model.config.raw["tie_word_embeddings"], .bool(false))
            XCTAssertTrue(head.trainable, name)
            XCTAssertEqual(model.architecture.tokenEmbedding.trainable, modules.contains("embed_tokens"), "\(name): the embedding trains only when named")
            let input = try batch()
            let expected = try SafeTensorsFile(url: fixture(name).appendingPathComponent("expected.safetensors"))
            assertClose(realLogits(model, input), try expected.floats("logits"), "\(name) logits")
            let grads = try SafeTensorsFile(url: fixture(name).appendingPathComponent("grads.safetensors"))
            XCTAssertEqual(Set(loaded.entries.map(\.key)), Set(grads.names), "\(name): peft's trainable parameters")
            let count = input.shiftedLabels.filter { $0 != -100 }.count
            let r = model.forwardBackward(input, gradScale: 1 / Float(count))
            XCTAssertEqual(Float(r.lossSum / Double(r.count)), try expected.floats("loss")[0], accuracy: 2e-6, "\(name) loss")
            for e in loaded.entries {
                assertClose(try XCTUnwrap(e.parameter.grad, e.key).toArray(), try grads.floats(e.key), rtol: 1e-4, atol: 1e-6, "\(name) grad \(e.key)")
            }
        }
    }

    /// Runs `body` for every fixture case with the base model, its peft adapter loaded, the batch and an output folder.
    func forEachCase(_ body: (String, CausalLM, AdapterFile.Loaded, ModelInput, URL) throws -> Void) throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = try batch()
        for name in Self.cases.keys.sorted() {
            let model = try loadBase()
            let loaded = try AdapterFile.load(directory: fixture(name), into: model)
            try body(name, model, loaded, input, dir.appendingPathComponent(name))
        }
    }

    func testSavedAdapterHasPEFTKeysAndReloads() throws {
        try forEachCase { name, model, loaded, input, out in
            try AdapterFile.save(model: model, adapters: loaded.adapters, config: loaded.config, baseModel: "Tests/ModelsTests/Fixtures/llama", to: out)
            let saved = try SafeTensorsFile(url: out.appendingPathComponent(AdapterFile.weightsName))
            let peft = try SafeTensorsFile(url: fixture(name).appendingPathComponent(AdapterFile.weightsName))
            XCTAssertEqual(Set(saved.names), Set(peft.names), name)
            XCTAssertTrue(saved.names.contains("base_model.model.lm_head.weight"), name)
            for k in peft.names { XCTAssertEqual(try saved.floats(k), try peft.floats(k), "\(name) \(k)") }
            let again = try loadBase()
            _ = try AdapterFile.load(directory: out, into: again)
            XCTAssertEqual(realLogits(again, input), realLogits(model, input), "\(name): reloaded adapter")
        }
    }

    func testMergedModelIsUntiedAndSavesLMHead() throws {
        try forEachCase { name, model, loaded, input, out in
            let expected = realLogits(model, input)
            try LoRA.merge(loaded.adapters, into: model)
            try ModelCheckpoint.save(model, to: out)
            let config = try JSON.parse(String(decoding: try Data(contentsOf: out.appendingPathComponent("config.json")), as: UTF8.self))
            XCTAssertEqual(config["tie_word_embeddings"], .bool(false), "\(name): config.json says untied")
            XCTAssertTrue(try SafeTensorsFile(url: out.appendingPathComponent("model.safetensors")).names.contains("lm_head.weight"), name)
            let plain = CausalLM(config: try DecoderConfig.load(directory: out), backend: be)
            XCTAssertEqual(try ModelCheckpoint.load(plain, from: try weightSource(directory: out)), [], name)
            XCTAssertNotNil(plain.architecture.head)
            assertClose(realLogits(plain, input), expected, "\(name): merged logits")
        }
    }

    func testEmbedTokensAloneLeavesTheHeadAtTheBaseValues() throws {
        let model = try loadBase()
        let original = model.architecture.tokenEmbedding.value.toArray()
        _ = try LoRA.apply(to: model, LoRAConfig(r: 2, alpha: 4, modulesToSave: ["embed_tokens"]))
        let head = try XCTUnwrap(model.architecture.head)
        XCTAssertFalse(head.trainable, "peft's lm_head keeps the frozen original")
        XCTAssertTrue(model.architecture.tokenEmbedding.trainable)
        XCTAssertEqual(head.value.toArray(), original)
        let keys = try AdapterFile.entries(model: model, adapters: [], config: LoRAConfig(r: 2, alpha: 4, modulesToSave: ["embed_tokens"])).map(\.key)
        XCTAssertEqual(keys, ["base_model.model.model.embed_tokens.weight"])
        let untied = try loadBase()
        untied.untieHead()
        _ = try LoRA.apply(to: untied, LoRAConfig(r: 2, alpha: 4))
        XCTAssertFalse(LoRA.tiedModuleIsSaved(try loadBase(), ["q_proj"]))
        XCTAssertTrue(LoRA.tiedModuleIsSaved(try loadBase(), ["model.embed_tokens"]))
        XCTAssertThrowsError(try LoRA.apply(to: try loadBase(), LoRAConfig(r: 2, alpha: 4, modulesToSave: ["wte"]))) {
            XCTAssertTrue("\($0)".contains("\"wte\" matches no module"), "\($0)")
        }
    }

    /// ensure_weight_tying: peft trains the embedding's copy with lm_head pointing at it, saves the shared matrix under
    /// both names and rewrites modules_to_save; the merged model stays tied.
    func testEnsureWeightTyingTrainsTheSharedMatrix() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let name = "tied-ensure", model = try loadBase(), input = try batch()
        let loaded = try AdapterFile.load(directory: fixture(name), into: model)
        XCTAssertTrue(loaded.config.ensureWeightTying)
        XCTAssertEqual(loaded.config.modulesToSave, ["model.embed_tokens"], "as peft saved it")
        XCTAssertNil(model.architecture.head, "still tied")
        XCTAssertTrue(model.architecture.tokenEmbedding.trainable)
        let expected = try SafeTensorsFile(url: fixture(name).appendingPathComponent("expected.safetensors"))
        assertClose(realLogits(model, input), try expected.floats("logits"), "logits")
        let count = input.shiftedLabels.filter { $0 != -100 }.count
        let r = model.forwardBackward(input, gradScale: 1 / Float(count))
        XCTAssertEqual(Float(r.lossSum / Double(r.count)), try expected.floats("loss")[0], accuracy: 2e-6, "loss")
        let grads = try SafeTensorsFile(url: fixture(name).appendingPathComponent("grads.safetensors"))
        for key in grads.names {
            let e = try XCTUnwrap(loaded.entries.first { $0.key == key }, key)
            assertClose(try XCTUnwrap(e.parameter.grad).toArray(), try grads.floats(key), rtol: 1e-4, atol: 1e-6, "grad \(key) (embedding + head)")
        }
        let out = dir.appendingPathComponent("adapter")
        try AdapterFile.save(model: model, adapters: loaded.adapters, config: loaded.config, baseModel: "Tests/ModelsTests/Fixtures/llama", to: out)
        let saved = try SafeTensorsFile(url: out.appendingPathComponent(AdapterFile.weightsName))
        let peft = try SafeTensorsFile(url: fixture(name).appendingPathComponent(AdapterFile.weightsName))
        XCTAssertEqual(Set(saved.names), Set(peft.names))
        XCTAssertEqual(try saved.floats("base_model.model.lm_head.weight"), try saved.floats("base_model.model.model.embed_tokens.weight"))
        let mine = try JSON.parse(String(decoding: try Data(contentsOf: out.appendingPathComponent(AdapterFile.configName)), as: UTF8.self))
        let theirs = try JSON.parse(String(decoding: try Data(contentsOf: fixture(name).appendingPathComponent(AdapterFile.configName)), as: UTF8.self))
        for key in ["modules_to_save", "ensure_weight_tying"] { XCTAssertEqual(mine[key], theirs[key], key) }

        let fresh = try loadBase()
        let config = LoRAConfig(r: 2, alpha: 4, modulesToSave: ["embed_tokens", "lm_head"], ensureWeightTying: true)
        _ = try LoRA.apply(to: fresh, config)
        XCTAssertNil(fresh.architecture.head)
        XCTAssertEqual(LoRA.savedModulesToSave(fresh, config), ["embed_tokens", "model.embed_tokens"], "peft's rewrite")

        let before = realLogits(model, input)
        try LoRA.merge(loaded.adapters, into: model)
        let merged = dir.appendingPathComponent("merged")
        try ModelCheckpoint.save(model, to: merged)
        XCTAssertFalse(try SafeTensorsFile(url: merged.appendingPathComponent("model.safetensors")).names.contains("lm_head.weight"), "tied: no lm_head")
        let plain = CausalLM(config: try DecoderConfig.load(directory: merged), backend: be)
        _ = try ModelCheckpoint.load(plain, from: try weightSource(directory: merged))
        XCTAssertNil(plain.architecture.head)
        assertClose(realLogits(plain, input), before, "merged logits")
    }
}
