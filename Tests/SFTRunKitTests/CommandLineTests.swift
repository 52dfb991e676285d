import XCTest
import SFTRunKit
import TestSupport
import Values

/// Runs the built `sftrun` binary, to check what only the process shows: exit statuses and usage errors.
final class CommandLineTests: XCTestCase {
    static let dataCache = NSTemporaryDirectory() + "sftrun-cli-tests-data-cache-\(getpid())"

    /// The runs below keep their data cache in a temporary folder, not in the user's ~/.cache.
    override class func setUp() {
        super.setUp()
        setenv("SFTRUN_CACHE", dataCache, 1)
    }

    override class func tearDown() {
        try? FileManager.default.removeItem(atPath: dataCache)
        super.tearDown()
    }

    /// The built binary: the test bundle sits next to the products of the same build (`swift test` builds it too).
    func binary() throws -> URL {
        var folder = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent()
        if folder.lastPathComponent.hasSuffix(".xctest") { folder.deleteLastPathComponent() }
        let binary = folder.appendingPathComponent("sftrun")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            struct Missing: Error, CustomStringConvertible { var description: String }
            throw Missing(description: "sftrun binary not found at \(binary.path); build with `swift build` first")
        }
        return binary
    }

    /// Starts `sftrun args` and returns once its stderr has shown `marker` `count` times (or it ended), with what it printed.
    func start(_ args: [String], until marker: String, count: Int = 1) throws -> (Process, Pipe, String) {
        let p = Process()
        p.executableURL = try binary()
        p.arguments = args
        let e = Pipe()
        p.standardError = e
        try p.run()
        var seen = ""
        while seen.components(separatedBy: marker).count <= count {
            let chunk = e.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        return (p, e, seen)
    }

    func run(_ args: [String], environment: [String: String] = [:], stdin: String? = nil) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = try binary()
        p.arguments = args
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        p.currentDirectoryURL = TestSupport.packageRoot
        let o = Pipe(), e = Pipe()
        p.standardOutput = o
        p.standardError = e
        let input = Pipe()
        if stdin != nil { p.standardInput = input }
        try p.run()
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        }
        let out = String(decoding: o.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: e.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, out, err)
    }

    func testUsageErrorsExitWithTwo() throws {
        let r = try run(["validate"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("Missing expected argument"), r.err)
        XCTAssertEqual(try run(["validate", "--format", "xml", "recipes/base.yaml"]).status, 2)
    }

    func testValidateAllShippedRecipesExitsZero() throws {
        let recipes = try FileManager.default.contentsOfDirectory(atPath: TestSupport.packageRoot.appendingPathComponent("recipes").path)
            .filter { $0.hasSuffix(".yaml") }.sorted().map { "recipes/" + $0 }
        let r = try run(["validate"] + recipes)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out.split(separator: "\n").count, recipes.count)
    }

    /// A recipe for the tiny llama fixture (vocabulary of the small Metaspace tokenizer) on a few text lines.
    func tinyRecipe(_ dir: URL, extra: String = "", steps: Int = 6) throws -> String {
        let lines = ["The quick brown fox jumps over the lazy dog.", "A journey of a thousand miles begins with a single step.",
                     "To be or not to be, that is the question.", "All that glitters is not gold.", "The early bird catches the worm."]
        let data = dir.appendingPathComponent("train.jsonl")
        try (0..<4).flatMap { _ in lines }.map { "{\"text\": \"\($0)\"}\n" }.joined().write(to: data, atomically: true, encoding: .utf8)
        let recipe = dir.appendingPathComponent("tiny.yaml")
        let model = TestSupport.packageRoot.appendingPathComponent("Tests/SFTRunKitTests/Fixtures/tiny-llama").path
        try """
        model:
          name_or_path: \(model)
        data:
          train:
            - path: \(data.path)
          max_length: 64
        training:
          output_dir: \(dir.appendingPathComponent("out").path)
          max_steps: \(steps)
          per_device_train_batch_size: 4
          learning_rate: 1.0e-3
          logging_steps: 2
          save_steps: 3
          report_to: [tensorboard]
        \(extra)
        """.write(to: recipe, atomically: true, encoding: .utf8)
        return recipe.path
    }

    func testBareRecipeArgumentTrainsAndWritesAnHFModelFolder() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try run([try tinyRecipe(dir), "--profile"])
        XCTAssertEqual(r.status, 0, r.err)
        for label in ["profile (sftrun train)", "linear forward", "linear backward (weight grad)", "attention backward", "optimizer step", "data (collate)"] {
            XCTAssertTrue(r.err.contains(label), "--profile prints \(label): \(r.err)")
        }
        let out = dir.appendingPathComponent("out")
        for f in ["model.safetensors", "config.json", "tokenizer.json", "tokenizer_config.json", "trainer_state.json", "metrics.jsonl",
                  "recipe.resolved.yaml", "recipe.lock.yaml", "loss.svg", "checkpoint-3/manifest.json", "checkpoint-3/optimizer.safetensors"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(f).path), f)
        }
        let state = try JSON.parse(bytes: [UInt8](try Data(contentsOf: out.appendingPathComponent("trainer_state.json"))))
        let history = state["log_history"]?.arrayValue ?? []
        XCTAssertEqual(history.compactMap { $0["loss"]?.doubleValue }.count, 3)
        XCTAssertEqual(history.first?["learning_rate"]?.doubleValue ?? 0, 1e-3 * 5 / 6, accuracy: 1e-12, "linear decay, no warmup, logged at step 2")
        XCTAssertEqual(state["global_step"]?.intValue, 6)
        let lines = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        XCTAssertTrue(lines[0].contains("tokens_per_second") && lines[0].contains("mean_token_accuracy"), String(lines[0]))
        let lock = try String(contentsOf: out.appendingPathComponent("recipe.lock.yaml"), encoding: .utf8)
        XCTAssertTrue(lock.contains("sftrun_version") && lock.contains("model.safetensors"), lock)
        let before = try run(["eval", try tinyRecipe(dir)]), after = try run(["eval", try tinyRecipe(dir), "--set", "model.name_or_path=\(out.path)"])
        XCTAssertEqual(before.status, 0, before.err)
        let lossBefore = try JSON.parse(before.out)["eval_loss"]?.doubleValue ?? 0, lossAfter = try JSON.parse(after.out)["eval_loss"]?.doubleValue ?? 0
        XCTAssertLessThan(lossAfter, lossBefore, "training lowered the loss on its own data")
        XCTAssertEqual(try JSON.parse(after.out)["eval_perplexity"]?.doubleValue ?? 0, Foundation.exp(lossAfter), accuracy: 1e-9)
        let lockPath = out.appendingPathComponent("recipe.lock.yaml").path
        let again = try run([try tinyRecipe(dir), "--locked", lockPath, "--set", "training.output_dir=\(dir.path)/out-locked"])
        XCTAssertEqual(again.status, 0, again.err)
        try "{\"text\": \"changed\"}\n".write(to: dir.appendingPathComponent("train.jsonl"), atomically: true, encoding: .utf8)
        let recipePath = dir.appendingPathComponent("tiny.yaml").path
        let drift = try run([recipePath, "--locked", lockPath, "--set", "training.output_dir=\(dir.path)/out-drift"])
        XCTAssertEqual(drift.status, 1)
        XCTAssertTrue(drift.err.contains("the inputs differ from the lock") && drift.err.contains("data file train.jsonl"), drift.err)
        let events = try FileManager.default.contentsOfDirectory(atPath: out.appendingPathComponent("runs").path)
        XCTAssertTrue(events.contains { $0.contains("tfevents") }, "\(events)")
    }

    func testLoRARecipeWritesAPEFTAdapter() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try run([try tinyRecipe(dir, extra: "peft:\n  method: lora\n  r: 4\n  lora_alpha: 8\n  target_modules: all-linear\n", steps: 3),
                         "--set", "training.merge_adapter=true", "--set", "data.val_set_size=4", "--set", "training.eval_strategy=steps",
                         "--set", "training.eval_steps=3", "--set", "training.sample_prompts=[The quick]"])
        XCTAssertEqual(r.status, 0, r.err)
        let out = dir.appendingPathComponent("out")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("adapter_model.safetensors").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.appendingPathComponent("model.safetensors").path), "only the adapter")
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent("merged/model.safetensors").path))
        let config = try JSON.parse(bytes: [UInt8](try Data(contentsOf: out.appendingPathComponent("adapter_config.json"))))
        XCTAssertEqual(config["peft_type"]?.stringValue, "LORA")
        XCTAssertEqual(config["r"]?.intValue, 4)
        XCTAssertTrue(r.err.contains("peft: LoRA r=4 on 14 layers"), r.err)
        XCTAssertTrue(r.err.contains("sample @3: The quick → "), r.err)
        XCTAssertTrue(try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8).contains("\"samples\""))
        let model = TestSupport.packageRoot.appendingPathComponent("Tests/SFTRunKitTests/Fixtures/tiny-llama").path
        let merged = dir.appendingPathComponent("merged-cli")
        let m = try run(["merge", "--model", model, "--adapter", out.path, "--output", merged.path])
        XCTAssertEqual(m.status, 0, m.err)
        XCTAssertEqual(try Data(contentsOf: merged.appendingPathComponent("model.safetensors")),
                       try Data(contentsOf: out.appendingPathComponent("merged/model.safetensors")), "merge command = merge_adapter")
        XCTAssertEqual(try run(["merge", "--model", model, "--adapter", dir.path, "--output", merged.path]).status, 1)
    }

    func testInterruptSavesACheckpointAndResumeFinishesTheRun() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let recipe = try tinyRecipe(dir, steps: 3000)
        let (p, e, first) = try start([recipe, "--set", "training.save_steps=100000"], until: "step 2/")
        var seen = first
        kill(p.processIdentifier, SIGINT)
        seen += String(decoding: e.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 130, seen)
        XCTAssertTrue(seen.contains("interrupted at step") && seen.contains("resume_from_checkpoint=true"), seen)
        let out = dir.appendingPathComponent("out")
        let checkpoint = try XCTUnwrap(try FileManager.default.contentsOfDirectory(atPath: out.path).first { $0.hasPrefix("checkpoint-") })
        XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(checkpoint + "/manifest.json").path))
        let step = Int(checkpoint.dropFirst("checkpoint-".count))!
        let resumed = try run([recipe, "--set", "training.resume_from_checkpoint=true", "--set", "training.max_steps=\(step + 4)",
                               "--set", "training.save_steps=100000"])
        XCTAssertEqual(resumed.status, 0, resumed.err)
        XCTAssertTrue(resumed.err.contains("resumed from") && resumed.err.contains("at step \(step) of \(step + 4)"), resumed.err)
    }

    /// End to end from the (fake) Hub: the model and tokenizer download into the HF cache, then train.
    func testTrainsAModelDownloadedFromTheHub() throws {
        let (server, port) = try startFakeHub()
        defer { server.terminate() }
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let recipe = try tinyRecipe(dir, steps: 2)
        let env = ["HF_ENDPOINT": "http://127.0.0.1:\(port)", "HF_HUB_CACHE": dir.appendingPathComponent("cache").path]
        let r = try run([recipe, "--set", "model.name_or_path=org/tiny-llama"], environment: env)
        XCTAssertEqual(r.status, 0, r.err)
        let lock = try String(contentsOf: dir.appendingPathComponent("out/recipe.lock.yaml"), encoding: .utf8)
        XCTAssertTrue(lock.contains("models--org--tiny-llama/snapshots/" + String(repeating: "f", count: 39) + "6"), lock)
        let offline = try run([recipe, "--set", "model.name_or_path=org/tiny-llama", "--set", "training.output_dir=\(dir.path)/out2"],
                              environment: env.merging(["HF_HUB_OFFLINE": "1"]) { $1 })
        XCTAssertEqual(offline.status, 0, "a cached model trains offline: \(offline.err)")
    }

    /// QLoRA end to end: 4-bit NF4 base (+ double quantization) with LoRA trains, saves the quantized base in
    /// bitsandbytes' layout; `sftrun quantize` writes a folder that trains again without re-quantizing; a full
    /// fine-tune of a quantized model is refused with the fix.
    func testQLoRATrainsAndQuantizedFoldersAreReused() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let recipe = try tinyRecipe(dir, extra: """
        quantization:
          load_in_4bit: true
          bnb_4bit_use_double_quant: true
          save_quantized: true
        peft:
          r: 4
          target_modules: all-linear
        """, steps: 2)
        let r = try run([recipe])
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("quantization: 14 linear layers in 4-bit nf4 + double quantization"), r.err)
        let base = dir.appendingPathComponent("out/quantized_base")
        let config = try String(contentsOf: base.appendingPathComponent("config.json"), encoding: .utf8)
        XCTAssertTrue(config.contains("\"quant_method\": \"bitsandbytes\""), config)
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/adapter_model.safetensors").path))

        let q8 = dir.appendingPathComponent("int8")
        let quantize = try run(["quantize", "--model", TestSupport.packageRoot.appendingPathComponent("Tests/SFTRunKitTests/Fixtures/tiny-llama").path,
                                "--output", q8.path, "--load-in-8bit"])
        XCTAssertEqual(quantize.status, 0, quantize.err)
        XCTAssertTrue(quantize.err.contains("quantized 14 linear layers to 8-bit"), quantize.err)
        let lora = try tinyRecipe(dir, extra: "peft:\n  r: 4\n  target_modules: all-linear", steps: 2)
        let again = try run([lora, "--set", "model.name_or_path=\(q8.path)", "--set", "training.output_dir=\(dir.path)/out2"])
        XCTAssertEqual(again.status, 0, again.err)
        XCTAssertTrue(again.err.contains("pre-quantized checkpoint (8-bit"), again.err)
        let full = try run([try tinyRecipe(dir, steps: 2), "--set", "model.name_or_path=\(q8.path)", "--set", "training.output_dir=\(dir.path)/out3"])
        XCTAssertEqual(full.status, 1, full.err)
        XCTAssertTrue(full.err.contains("a full fine-tune cannot train them; add a `peft:` section"), full.err)
        let twice = try run(["quantize", "--model", q8.path, "--output", dir.appendingPathComponent("y").path, "--load-in-4bit"])
        XCTAssertEqual(twice.status, 1)
        XCTAssertTrue(twice.err.contains("the model is already quantized (8-bit (LLM.int8 rows)); quantize the original float weights instead"), twice.err)
        let both = try run(["quantize", "--model", q8.path, "--output", dir.appendingPathComponent("x").path, "--load-in-4bit", "--load-in-8bit"])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.err.contains("exactly one of --load-in-4bit and --load-in-8bit"), both.err)
    }

    /// TRL's quickstart recipe as shipped, against the fake Hub serving a tiny random OPT as facebook/opt-350m
    /// (slow tokenizer, pytorch_model.bin) and a small Parquet imdb in the real layout: trains to the end, then
    /// again offline from the HF cache.
    func testOPT350mIMDBRecipeTrainsFromTheHubThenOffline() throws {
        let (server, port) = try startFakeHub()
        defer { server.terminate() }
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cache = dir.appendingPathComponent("cache")
        let env = ["HF_ENDPOINT": "http://127.0.0.1:\(port)", "HF_HUB_CACHE": cache.path]
        let short = ["--set", "training.max_steps=2", "--set", "training.output_dir=\(dir.path)/out"]
        let r = try run(["recipes/opt350m-imdb.yaml"] + short, environment: env)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertTrue(r.err.contains("data: stanfordnlp/imdb split train: plain_text/train-00000-of-00001.parquet"), r.err)
        XCTAssertTrue(r.err.contains("40 training examples"), r.err)
        for f in ["model.safetensors", "config.json", "vocab.json", "merges.txt", "trainer_state.json"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/\(f)").path), f)
        }
        let lock = try String(contentsOf: dir.appendingPathComponent("out/recipe.lock.yaml"), encoding: .utf8)
        XCTAssertTrue(lock.contains("train-00000-of-00001.parquet:") && lock.contains("stanfordnlp/imdb: \"" + String(repeating: "9", count: 39) + "7\""),
                      "the lock records the Hub dataset's files and commit: \(lock)")
        let snapshot = cache.appendingPathComponent("datasets--stanfordnlp--imdb/snapshots/" + String(repeating: "9", count: 39) + "7")
        XCTAssertTrue(FileManager.default.fileExists(atPath: snapshot.appendingPathComponent("plain_text/train-00000-of-00001.parquet").path))
        server.terminate()
        let offline = try run(["recipes/opt350m-imdb.yaml", "--set", "training.max_steps=2", "--set", "training.output_dir=\(dir.path)/out2"],
                              environment: env.merging(["HF_HUB_OFFLINE": "1"]) { $1 })
        XCTAssertEqual(offline.status, 0, "the cached model and dataset train offline: \(offline.err)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out2/model.safetensors").path))
        let missing = try run(["recipes/opt350m-imdb.yaml", "--set", "data.train.split=test", "--set", "training.output_dir=\(dir.path)/out3"],
                              environment: env.merging(["HF_HUB_OFFLINE": "1"]) { $1 })
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.err.contains("split 'test'") && missing.err.contains("offline"), missing.err)
    }

    /// The label checks run before training: when (nearly) every example carries no loss, train stops with the
    /// reason and the fix, and writes no model.
    func testTrainStopsWhenExamplesCarryNoLoss() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let recipe = try tinyRecipe(dir, steps: 2)
        let data = dir.appendingPathComponent("long.jsonl")
        try String(repeating: "{\"prompt\": \"A very long prompt that goes well past eight tokens for sure\", \"completion\": \" x\"}\n", count: 4)
            .write(to: data, atomically: true, encoding: .utf8)
        let r = try run([recipe, "--set", "data.train=[{path: \(data.path)}]", "--set", "data.max_length=8"])
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("% of the examples carry no loss (more than data.max_unsupervised_fraction 0.01)"), r.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("out/model.safetensors").path))
    }

    /// eval_packing (default: as packing) packs the eval set; with per-example positions and segment masks the
    /// eval loss equals the padded eval's.
    func testPackedEvalGivesThePaddedEvalLoss() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let recipe = try tinyRecipe(dir, steps: 2)
        func evalLoss(_ extra: [String], _ out: String) throws -> Double? {
            let r = try run([recipe, "--set", "data.packing=true", "--set", "data.val_set_size=6", "--set", "training.eval_strategy=steps",
                             "--set", "training.eval_steps=2", "--set", "training.output_dir=\(dir.path)/\(out)"] + extra)
            XCTAssertEqual(r.status, 0, r.err)
            XCTAssertEqual(r.err.contains("data: 6 eval examples packed into 3 row(s) (eval_packing)"), extra.isEmpty, r.err)
            XCTAssertTrue(r.err.contains("length histogram (max_length 64):") && r.err.contains("packing (bfd): "), "statistics before training: \(r.err)")
            let state = try JSON.parse(bytes: [UInt8](try Data(contentsOf: dir.appendingPathComponent("\(out)/trainer_state.json"))))
            return state["log_history"]?.arrayValue?.compactMap { $0["eval_loss"]?.doubleValue }.first
        }
        let packed = try XCTUnwrap(try evalLoss([], "packed")), padded = try XCTUnwrap(try evalLoss(["--set", "data.eval_packing=false"], "padded"))
        XCTAssertEqual(packed, padded, accuracy: 1e-5 * padded)
    }

    /// recipe.lock.yaml hashes every data file read, train and eval, even two with the same name in different folders.
    func testLockHashesSameNamedDataFilesApart() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let recipe = try tinyRecipe(dir, steps: 1)
        for split in ["a", "b"] {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent(split), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: dir.appendingPathComponent("train.jsonl"), to: dir.appendingPathComponent("\(split)/part.jsonl"))
        }
        let r = try run([recipe, "--set", "data.train=[{path: \(dir.path)/a}]", "--set", "data.eval=[{path: \(dir.path)/b/part.jsonl}]"])
        XCTAssertEqual(r.status, 0, r.err)
        let lock = try String(contentsOf: dir.appendingPathComponent("out/recipe.lock.yaml"), encoding: .utf8)
        XCTAssertTrue(lock.contains("      part.jsonl: ") && lock.contains("      b/part.jsonl: "), lock)
    }

    /// A prompt longer than a learned-position model's table is an error naming both lengths, not an empty reply.
    func testOverlongPromptForLearnedPositionsIsAnError() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let gpt2 = TestSupport.packageRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/gpt2")
        let gen = TestSupport.packageRoot.appendingPathComponent("Tests/SFTRunKitTests/Fixtures/tiny-llama-gen")
        for f in ["config.json", "model.safetensors"] { try FileManager.default.copyItem(at: gpt2.appendingPathComponent(f), to: dir.appendingPathComponent(f)) }
        for f in ["tokenizer.json", "tokenizer_config.json"] { try FileManager.default.copyItem(at: gen.appendingPathComponent(f), to: dir.appendingPathComponent(f)) }
        let r = try run(["generate", "--model", dir.path, "--raw", "--prompt", String(repeating: "a b c d e f g h ", count: 20)])
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("but the model reads at most 32 (max_position_embeddings); shorten the prompt"), r.err)
    }

    func testFeaturesNotInThisBuildAndMisusedFlagsAreNamed() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let recipe = try tinyRecipe(dir)
        let exact = try run(["eval", recipe, "--exact-match", "--set", "data.eval=[{path: \(dir.path)/train.jsonl}]"])
        XCTAssertEqual(exact.status, 1)
        XCTAssertTrue(exact.err.contains("--exact-match needs data.eval rows with string prompt and completion columns"), exact.err)
        let noAdapter = try run(["generate", "--model", "Tests/SFTRunKitTests/Fixtures/tiny-llama", "--adapter", dir.path, "--prompt", "hi"])
        XCTAssertEqual(noAdapter.status, 1)
        XCTAssertTrue(noAdapter.err.contains("adapter_config.json"), noAdapter.err)
    }

    /// SIGKILL at an arbitrary moment while checkpoints are being written: every `checkpoint-N` left behind verifies,
    /// staging folders are cleaned up, and resume continues from the newest complete one.
    func testKillDuringCheckpointWritesLeavesOnlyCompleteCheckpoints() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let recipe = try tinyRecipe(dir, steps: 3000)
        let (p, _, _) = try start([recipe, "--set", "training.save_steps=1", "--set", "training.save_total_limit=3"], until: "saved ", count: 3)
        usleep(3_000)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let out = dir.appendingPathComponent("out")
        let names = try FileManager.default.contentsOfDirectory(atPath: out.path)
        for c in names where c.hasPrefix("checkpoint-") {
            XCTAssertTrue(FileManager.default.fileExists(atPath: out.appendingPathComponent(c + "/manifest.json").path), "\(c) is complete")
        }
        let resumed = try run([recipe, "--set", "training.resume_from_checkpoint=true", "--set", "training.max_steps=12",
                               "--set", "training.save_steps=100000"])
        XCTAssertEqual(resumed.status, 0, resumed.err)
        XCTAssertTrue(resumed.err.contains("resumed from"), resumed.err)
        XCTAssertFalse(try FileManager.default.contentsOfDirectory(atPath: out.path).contains { $0.contains(".tmp-") }, "staging removed")
    }

    func testHubModelOfflineAndNotCachedIsAClearError() throws {
        let cache = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: cache) }
        let r = try run(["recipes/opt350m-imdb.yaml"], environment: ["HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": cache.path])
        XCTAssertEqual(r.status, 1, r.err)
        XCTAssertTrue(r.err.contains("facebook/opt-350m"), r.err)
    }

    /// Starts the fake Hub from the HubClient tests (Python standard library only) and returns its port.
    func startFakeHub() throws -> (Process, Int) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", TestSupport.packageRoot.appendingPathComponent("Tests/HubClientTests/Fixtures/fake_hub.py").path]
        let o = Pipe()
        p.standardOutput = o
        try p.run()
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = o.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").first ?? "") else {
            p.terminate()
            throw XCTSkip("fake Hub did not start")
        }
        return (p, port)
    }

    func testDownloadAndCacheCommandsAgainstTheFakeHub() throws {
        let (server, port) = try startFakeHub()
        defer { server.terminate() }
        let cache = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: cache) }
        let env = ["HF_ENDPOINT": "http://127.0.0.1:\(port)", "HF_HUB_CACHE": cache.path, "HF_TOKEN": "hf_secret"]
        let one = try run(["download", "org/tiny-model", "config.json"], environment: env)
        XCTAssertEqual(one.status, 0, one.err)
        let snapshot = one.out.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(snapshot.hasSuffix("models--org--tiny-model/snapshots/" + String(repeating: "a", count: 39) + "1"), snapshot)
        XCTAssertTrue(FileManager.default.fileExists(atPath: snapshot + "/config.json"))
        let data = try run(["download", "org/tiny-data", "--repo-type", "dataset", "--include", "data/*"], environment: env)
        XCTAssertEqual(data.status, 0, data.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: data.out.trimmingCharacters(in: .whitespacesAndNewlines) + "/data/train.jsonl"))
        let missing = try run(["download", "org/tiny-model", "--include", "nope.txt"], environment: env)
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.err.contains("has no file \"nope.txt\""), missing.err)
        XCTAssertFalse(missing.err.contains("hf_secret"))
        let absent = try run(["download", "org/does-not-exist", "config.json"], environment: env)
        XCTAssertEqual(absent.status, 1)
        XCTAssertFalse(absent.err.isEmpty)
        let list = try run(["cache", "ls"], environment: env)
        XCTAssertTrue(list.out.contains("org/tiny-model") && list.out.contains("org/tiny-data"), list.out)
        XCTAssertEqual(try run(["cache", "rm", "org/tiny-model"], environment: env).status, 0)
        XCTAssertFalse(try run(["cache", "ls"], environment: env).out.contains("org/tiny-model"))
        let gone = try run(["cache", "rm", "org/tiny-model"], environment: env)
        XCTAssertEqual(gone.status, 1)
        XCTAssertTrue(gone.err.contains("is not in the cache"), gone.err)
        let offline = try run(["download", "org/tiny-model", "config.json", "--offline"], environment: env)
        XCTAssertEqual(offline.status, 1)
        XCTAssertTrue(offline.err.contains("org/tiny-model"), offline.err)
    }

    /// `sftrun tokenize` against transformers' apply_chat_template and encode (scripts/make_tokenize_cli_fixtures.py).
    func testTokenizeMatchesTransformersForTextAndChats() throws {
        let fixture = try JSON.parse(String(contentsOf: TestSupport.packageRoot.appendingPathComponent("Tests/SFTRunKitTests/Fixtures/tokenize_cli.json"), encoding: .utf8))
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: TestSupport.packageRoot.appendingPathComponent("Tests/TokenizationTests/Fixtures/smollm2/tokenizer.json"),
                                         to: dir.appendingPathComponent("tokenizer.json"))
        let config: Value = ["bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>", "unk_token": "<|endoftext|>",
                             "chat_template": fixture["chat_template"]!]
        try JSON.serialize(config).write(to: dir.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        for chat in fixture["chats"]!.arrayValue! {
            let gen = chat["add_generation_prompt"]!.boolValue!
            let r = try run(["tokenize", "--tokenizer", dir.path, "--chat-template"] + (gen ? ["--add-generation-prompt"] : []),
                            stdin: JSON.serialize(["messages": chat["messages"]!]) + "\n")
            XCTAssertEqual(r.status, 0, r.err)
            let line = try JSON.parse(r.out)
            XCTAssertEqual(line["text"], chat["text"])
            XCTAssertEqual(line["ids"], chat["ids"])
            if !gen {
                let ids = line["ids"]!.arrayValue!.map { $0.intValue! }
                let mask = line["assistant_mask"]!.arrayValue!.map { $0.intValue! }
                let assistant = zip(ids, mask).filter { $0.1 == 1 }.map(\.0)
                let last = chat["messages"]!.arrayValue!.last!["content"]!.stringValue!
                let decoded = try run(["tokenize", "--tokenizer", dir.path, "--decode"], stdin: JSON.serialize(["ids": .array(assistant.map { .int($0) })]) + "\n")
                XCTAssertTrue(try JSON.parse(decoded.out)["text"]!.stringValue!.hasSuffix(last + "<|im_end|>\n"), decoded.out)
            }
        }
        let input = fixture["texts"]!.arrayValue!.map { JSON.serialize(["text": $0["text"]!]) }.joined(separator: "\n") + "\n"
        let r = try run(["tokenize", "--tokenizer", dir.path, "--decode"], stdin: input)
        XCTAssertEqual(r.status, 0, r.err)
        for (line, expected) in zip(r.out.split(separator: "\n"), fixture["texts"]!.arrayValue!) {
            let v = try JSON.parse(String(line))
            XCTAssertEqual(v["ids"], expected["ids"])
            XCTAssertEqual(v["decoded"], expected["decoded"])
        }
    }

    func testTokenizeReportsBadLinesInPlaceAndExitsOne() throws {
        let r = try run(["tokenize", "--tokenizer", TestSupport.packageRoot.appendingPathComponent("Tests/TokenizationTests/Fixtures/smollm2").path],
                        stdin: "{\"text\": \"ok\"}\nnot json\n{\"text\": 3}\n")
        XCTAssertEqual(r.status, 1)
        let lines = r.out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3)
        XCTAssertTrue(lines[0].hasPrefix("{\"ids\": ["), lines[0])
        XCTAssertTrue(lines[1].contains("\"error\": \"malformed JSON"), lines[1])
        XCTAssertEqual(lines[2], #"{"error": "\"text\" must be a string, got integer"}"#)
        let missing = try run(["tokenize", "--tokenizer", "/nonexistent"], stdin: "")
        XCTAssertEqual(missing.status, 1)
        XCTAssertFalse(missing.err.isEmpty)
    }

    /// `sftrun chat` driven through a pipe: two turns, both replies on stdout, the second prompt carrying the first turn.
    func testChatReadsTurnsFromPipedStdin() throws {
        let dir = try GenerationTests.chatModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try run(["chat", "--model", dir.path, "--max-new-tokens", "5", "--show-prompt"], stdin: "Hello there\nHow are you\n")
        XCTAssertEqual(r.status, 0, r.err)
        var o = Generator.Options()
        o.maxNewTokens = 5
        let session = try ChatSession(generator: try Generator.load(model: dir.path, adapter: nil), options: o, system: nil)
        let replies = try ["Hello there", "How are you"].map { try session.reply(to: $0) }
        XCTAssertEqual(r.out, replies.map { $0 + "\n" }.joined())
        let prompts = r.err.components(separatedBy: "--- prompt\n").dropFirst().map { $0.components(separatedBy: "\n---")[0] }
        XCTAssertEqual(prompts.count, 2, r.err)
        XCTAssertEqual(prompts[0], "<|user|>Hello there</s><|assistant|>")
        XCTAssertEqual(prompts[1], "<|user|>Hello there</s><|assistant|>\(replies[0])</s><|user|>How are you</s><|assistant|>")
        let none = try run(["chat", "--model", TestSupport.packageRoot.appendingPathComponent("Tests/SFTRunKitTests/Fixtures/tiny-llama-gen").path], stdin: "hi\n")
        XCTAssertEqual(none.status, 1)
        XCTAssertTrue(none.err.contains("no chat template"), none.err)
    }
}
