import Datasets
import Foundation
import Models
import PEFT
import Quantization
import TensorCore
import TestSupport
import Training
import Values
import XCTest

/// The loop against a plain PyTorch loop under TRL's rules (scripts/make_trainer_fixtures.py), plus resume,
/// checkpoint integrity and failure behaviour.
final class TrainerTests: XCTestCase {
    struct Fixture {
        var examples: [TokenizedExample]
        var log: [[String: Double]]
        var settings: [String: Double]
    }

    func fixture(_ name: String) throws -> Fixture {
        let url = TestSupport.packageRoot.appendingPathComponent("Tests/TrainingTests/Fixtures/trainer/\(name).json")
        let v = try JSON.parse(bytes: [UInt8](try Data(contentsOf: url)))
        let examples = v["examples"]!.arrayValue!.map {
            TokenizedExample(inputIDs: $0["input_ids"]!.arrayValue!.map { $0.intValue! }, labels: $0["labels"]!.arrayValue!.map { $0.intValue! })
        }
        let log = v["log"]!.arrayValue!.map { e in Dictionary(uniqueKeysWithValues: e.objectValue!.map { ($0.key, $0.value.doubleValue!) }) }
        let settings = Dictionary(uniqueKeysWithValues: v["settings"]!.objectValue!.map { ($0.key, $0.value.doubleValue!) })
        return Fixture(examples: examples, log: log, settings: settings)
    }

    func model(_ name: String) throws -> CausalLM {
        let dir = TestSupport.packageRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/\(name)")
        let m = CausalLM(config: try DecoderConfig.load(directory: dir), backend: CPUBackend(threads: 2))
        try ModelCheckpoint.load(m, from: try weightSource(directory: dir))
        for p in m.params.all { p.setTrainable(true) }
        return m
    }

    struct SavedWeights: ModelPersistence {
        let model: CausalLM
        func save(to directory: URL) throws { try ModelCheckpoint.save(model, to: directory) }
        func restore(from directory: URL) throws { try ModelCheckpoint.load(model, from: try SafeTensorsSource(directory: directory)) }
    }

    func trainer(_ name: String, _ fx: Fixture, out: URL, saveSteps: Double = 500) throws -> SFTTrainer {
        let m = try model(name)
        var s = TrainerSettings(outputDir: out)
        s.maxSteps = Int(fx.settings["steps"]!)
        s.batchSize = Int(fx.settings["batch_size"]!)
        s.gradientAccumulationSteps = Int(fx.settings["accumulation"]!)
        s.learningRate = fx.settings["lr"]!
        s.warmupSteps = Int(fx.settings["warmup"]!)
        s.maxGradNorm = fx.settings["max_grad_norm"]!
        s.weightDecay = fx.settings["weight_decay"]!
        s.loggingSteps = 1
        s.shuffle = false
        s.saveSteps = saveSteps
        let examples = fx.examples, pad = Int(fx.settings["pad_id"]!)
        return try SFTTrainer(model: m, settings: s, trainItems: examples.count,
                              collate: { Collator.pad($0.map { examples[$0] }, padID: pad) }, evalBatches: [],
                              persistence: SavedWeights(model: m), digest: { url in
                                  // a cheap stand-in digest for tests: size + first/last bytes
                                  let d = try Data(contentsOf: url)
                                  return "\(d.count)-\(d.first ?? 0)-\(d.last ?? 0)-\(d.reduce(0) { ($0 &* 31) &+ Int($1) })"
                              })
    }

    func stepEntries(_ state: TrainerState) -> [OrderedDictionaryEntry] {
        state.logHistory.filter { $0["loss"] != nil }.map { OrderedDictionaryEntry(loss: $0["loss"]!.doubleValue!, gradNorm: $0["grad_norm"]!.doubleValue!,
                                                                                   lr: $0["learning_rate"]!.doubleValue!, step: $0["step"]!.intValue!) }
    }

    struct OrderedDictionaryEntry: Equatable { var loss: Double, gradNorm: Double, lr: Double, step: Int }

    func testLogHistoryMatchesPyTorchLoopUnderTRLRules() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["llama", "mistral", "qwen2", "gpt2", "opt", "opt350m", "gpt_neo"] {
            let fx = try fixture(name)
            let t = try trainer(name, fx, out: dir.appendingPathComponent(name))
            let outcome = try t.train()
            let got = stepEntries(outcome.state)
            XCTAssertEqual(got.count, fx.log.count, name)
            for (i, (g, want)) in zip(got, fx.log).enumerated() {
                let tol = i == 0 ? 1e-5 : 1e-3
                XCTAssertEqual(g.step, Int(want["step"]!))
                XCTAssertEqual(g.loss, want["loss"]!, accuracy: tol * want["loss"]!, "\(name) step \(i + 1) loss")
                XCTAssertEqual(g.gradNorm, want["grad_norm"]!, accuracy: max(1e-3 * want["grad_norm"]!, 1e-6), "\(name) step \(i + 1) grad_norm")
                XCTAssertEqual(g.lr, want["learning_rate"]!, accuracy: 1e-12, "\(name) step \(i + 1) learning_rate")
            }
            let summary = try XCTUnwrap(outcome.state.logHistory.last)
            XCTAssertNotNil(summary["train_runtime"])
            XCTAssertEqual(summary["step"]?.intValue, 10)
        }
    }

    /// 10 LoRA steps of `family`'s fixture model from the adapter the fixture script saved (after `prepare`, e.g.
    /// quantizing the base), checked against the log `tag`: step 1 within 1e-5, later steps and grad norms within 1e-3.
    func checkLoRARun(family: String, tag: String, in dir: URL, prepare: (CausalLM) throws -> Void = { _ in }) throws -> CausalLM {
        let fx = try fixture(tag)
        let base = TestSupport.packageRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/\(family)")
        let m = CausalLM(config: try DecoderConfig.load(directory: base), backend: CPUBackend(threads: 2))
        try ModelCheckpoint.load(m, from: try weightSource(directory: base))
        try prepare(m)
        let start = TestSupport.packageRoot.appendingPathComponent("Tests/TrainingTests/Fixtures/trainer/\(family)-lora-start")
        let loaded = try AdapterFile.load(directory: start, into: m)
        var s = TrainerSettings(outputDir: dir.appendingPathComponent(tag))
        s.maxSteps = 10; s.batchSize = 2; s.gradientAccumulationSteps = 2; s.learningRate = fx.settings["lr"]!
        s.warmupSteps = 2; s.loggingSteps = 1; s.shuffle = false
        let examples = fx.examples
        let t = try SFTTrainer(model: m, settings: s, trainItems: examples.count, collate: { Collator.pad($0.map { examples[$0] }, padID: 0) },
                               evalBatches: [], persistence: SavedWeights(model: m), digest: { _ in "" },
                               trainable: LoRA.trainableParameters(m, loaded.adapters))
        let got = stepEntries(try t.train().state)
        XCTAssertEqual(got.count, 10)
        for (i, (g, want)) in zip(got, fx.log).enumerated() {
            XCTAssertEqual(g.loss, want["loss"]!, accuracy: (i == 0 ? 1e-5 : 1e-3) * want["loss"]!, "\(tag) step \(i + 1) loss")
            XCTAssertEqual(g.gradNorm, want["grad_norm"]!, accuracy: 1e-3 * want["grad_norm"]!, "\(tag) step \(i + 1) grad_norm")
        }
        return m
    }

    /// LoRA training against peft + the same PyTorch loop, starting from the adapter the fixture script saved.
    func testLoRALogHistoryMatchesPEFT() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for name in ["llama", "opt350m"] {
            let m = try checkLoRARun(family: name, tag: "\(name)-lora", in: dir)
            XCTAssertTrue(m.params.all.allSatisfy { !$0.trainable }, "the base stays frozen")
        }
    }

    /// QLoRA: LoRA on a 4-bit base against PyTorch + peft on bitsandbytes' dequantized weights (the same arithmetic
    /// Linear4bit runs); step 1 within 1e-5, so a base quantized differently (or not at all: 1.7e-4 off) fails.
    func testQLoRALogHistoryMatchesDequantizedReference() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (tag, config) in [("llama-qlora-nf4-dq", BitsAndBytesConfig(mode: .fourBit(.nf4), doubleQuant: true)),
                              ("llama-qlora-fp4", BitsAndBytesConfig(mode: .fourBit(.fp4)))] {
            let m = try checkLoRARun(family: "llama", tag: tag, in: dir) { m in
                XCTAssertEqual(Quantizer.quantize(m, config).layers, m.linearLayers.count)
            }
            XCTAssertTrue(m.linearLayers.allSatisfy { $0.weight.value.elementType == .packed && !$0.weight.trainable })
        }
    }

    func testResumeFromCheckpointReproducesTheUninterruptedRun() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fx = try fixture("llama")
        let straight = try trainer("llama", fx, out: dir.appendingPathComponent("a"), saveSteps: 5).train()
        let checkpoint = dir.appendingPathComponent("a/checkpoint-5")
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent("manifest.json").path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint.appendingPathComponent("optimizer.safetensors").path))
        let resumed = try trainer("llama", fx, out: dir.appendingPathComponent("a"), saveSteps: 5).train(resume: checkpoint)
        XCTAssertEqual(stepEntries(resumed.state), stepEntries(straight.state), "identical loss, grad_norm and lr sequence")
    }

    func testDamagedNewestCheckpointFallsBackAndChangedBatchIsRefused() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fx = try fixture("llama")
        let t = try trainer("llama", fx, out: dir, saveSteps: 3)
        _ = try t.train()
        XCTAssertEqual(t.checkpoints.checkpoints().map(\.step), [9, 6, 3])
        let weights = dir.appendingPathComponent("checkpoint-9/model.safetensors")
        let h = try FileHandle(forWritingTo: weights)
        try h.seek(toOffset: 200)
        h.write(Data([1, 2, 3, 4]))
        try h.close()
        var warnings: [String] = []
        XCTAssertEqual(t.checkpoints.latestValid { warnings.append($0) }?.url.lastPathComponent, "checkpoint-6")
        XCTAssertTrue(warnings.first?.contains("damaged") == true, "\(warnings)")

        var fx2 = fx
        fx2.settings["batch_size"] = 1
        let other = try trainer("llama", fx2, out: dir)
        XCTAssertThrowsError(try other.train(resume: dir.appendingPathComponent("checkpoint-6"))) {
            XCTAssertTrue("\($0)".contains("per_device_train_batch_size: checkpoint 2 vs recipe 1"), "\($0)")
        }
    }

    func testNonFiniteLossStopsWithTheStepNamed() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let t = try trainer("llama", try fixture("llama"), out: dir)
        t.model.params["model.norm.weight"]!.value.floats[0] = .nan
        XCTAssertThrowsError(try t.train()) { XCTAssertTrue("\($0)".contains("step 1: the loss is nan"), "\($0)") }
    }

    func testDataScheduleGroupsNeverSpanEpochsAndShuffleIsSeeded() {
        let s = DataSchedule(items: 11, batchSize: 2, accumulation: 2, shuffle: false, seed: 1)
        XCTAssertEqual(s.microBatchesPerEpoch, 6)
        XCTAssertEqual(s.stepsPerEpoch, 3)
        XCTAssertEqual(s.step(2).microBatches, [[8, 9], [10]])
        XCTAssertEqual(s.step(3).microBatches, [[0, 1], [2, 3]])
        XCTAssertEqual(s.totalSteps(epochs: 1.5, maxSteps: -1), 5)
        let a = DataSchedule(items: 50, batchSize: 4, accumulation: 1, shuffle: true, seed: 7)
        XCTAssertEqual(a.order(epoch: 0), a.order(epoch: 0))
        XCTAssertNotEqual(a.order(epoch: 0), a.order(epoch: 1))
        XCTAssertEqual(a.order(epoch: 0).sorted(), Array(0..<50))
    }
}
