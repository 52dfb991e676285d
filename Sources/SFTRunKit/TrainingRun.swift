import Datasets
import Foundation
import HubClient
import Models
import OrderedCollections
import PEFT
import Quantization
import Recipes
import TensorCore
import Tokenization
import Training
import Values
import WeightFiles

/// The trainer of this build: `sftrun RECIPE` loads model, tokenizer and data, trains with TRL's rules and
/// writes an HF-format model, trainer_state.json, metrics.jsonl, recipe.resolved.yaml and recipe.lock.yaml.
public struct LocalTrainer: RunExecutor {
    public var progressToTTY: Bool
    /// `--locked LOCK`: refuse to train unless the inputs match this recipe.lock.yaml.
    public var locked: String?

    /// false with `--no-data-cache`: tokenize without reading or writing the data cache, whatever `data.cache` says.
    public var dataCache: Bool

    public init(progressToTTY: Bool = isatty(STDERR_FILENO) != 0, locked: String? = nil, dataCache: Bool = true) {
        self.progressToTTY = progressToTTY
        self.locked = locked
        self.dataCache = dataCache
    }

    public func run(_ resolved: ResolvedRecipe) -> RunResult {
        do {
            return try execute(resolved)
        } catch let e as TrainingError {
            return .failed(e.description, exitCode: e.exitCode)
        } catch let e as UnsupportedFeature {
            return .failed(e.description, exitCode: 3)
        } catch {
            return .failed("\(error)")
        }
    }

    struct UnsupportedFeature: Error, CustomStringConvertible { var description: String }

    func note(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

    func execute(_ resolved: ResolvedRecipe) throws -> RunResult {
        let recipe = resolved.recipe
        let started = Date()
        let backend = CPUBackend(threads: recipe.threads ?? 0)
        let recipeDir = (resolved.document.file as NSString).deletingLastPathComponent
        let prep = try DataPreparation(recipe: recipe, recipeDirectory: recipeDir.isEmpty ? "." : recipeDir)
        let tokenizerFolder = try DataPreparation.tokenizerFolder(recipe)
        let tokenizerReady = Date()
        let loaded = try ModelLoading.load(recipe, backend: backend)
        let modelReady = Date()
        let model = loaded.model
        if !loaded.unusedTensors.isEmpty {
            note("note: \(loaded.unusedTensors.count) checkpoint tensor(s) not used by the model: \(loaded.unusedTensors.prefix(3).joined(separator: ", "))")
        }
        if prep.tokenizer.vocabSize > model.config.vocabSize || recipe.tokenizer.resizeToMultipleOf != nil {
            let before = model.config.vocabSize
            model.resizeTokenEmbeddings(to: prep.tokenizer.vocabSize, multipleOf: recipe.tokenizer.resizeToMultipleOf)
            if model.config.vocabSize != before {
                note("tokenizer: \(prep.tokenizer.vocabSize) tokens; embeddings resized from \(before) to \(model.config.vocabSize) rows (new rows: the mean embedding)")
            }
        }

        let quantization = try QuantizationSupport.prepare(model, recipe: recipe, loaded: loaded)
        if let quantization { note(quantization.line) }

        let dataStart = Date()
        let dataInputs = try prep.inputFiles(recipe.data.train + recipe.data.eval)
        let lockInputs = RecipeLock.inputs(model: loaded, tokenizerFolder: tokenizerFolder, dataFiles: dataInputs.files, datasetCommits: dataInputs.commits,
                                           chatTemplate: prep.chat?.source)
        if let locked { try RecipeLock.verify(locked, inputs: lockInputs) }
        let cache = recipe.data.cache && dataCache ? DataCache(directory: DataCache.defaultDirectory()) : nil
        var train = try prep.loadAndPrepare(recipe.data.train, cache: cache, tokenizerFolder: tokenizerFolder, report: note)
        var evalExamples: [TokenizedExample] = []
        if !recipe.data.eval.isEmpty {
            evalExamples = try prep.loadAndPrepare(recipe.data.eval, cache: cache, tokenizerFolder: tokenizerFolder, report: note).examples
        } else if recipe.data.valSetSize > 0 {
            (train.examples, evalExamples) = Self.split(train.examples, size: recipe.data.valSetSize, seed: UInt64(recipe.training.seed))
        }
        if !train.skipped.isEmpty { note("data: skipped \(train.skipped.count) row(s); first: \(train.skipped[0])") }
        note(DataChecks.summary(train.examples, dropped: train.skipped.count, truncated: train.truncated))
        DataChecks.lengthHistogram(train.examples, maxLength: recipe.data.maxLength).forEach(note)
        for w in try DataChecks.labelChecks(examples: train.examples, dropped: train.skipped, tokenizer: prep.tokenizer,
                                            maxUnsupervisedFraction: recipe.data.maxUnsupervisedFraction) { note(w) }
        let padID = prep.tokenizer.padTokenId ?? prep.tokenizer.eosTokenId ?? 0
        for e in train.examples + evalExamples {
            if let bad = e.inputIDs.first(where: { $0 < 0 || $0 >= model.config.vocabSize }) {
                throw TrainingError("token id \(bad) is outside the model's vocabulary of \(model.config.vocabSize); the tokenizer does not belong to this model")
            }
        }

        let trainItems: Int
        let collate: ([Int]) -> PaddedBatch
        if recipe.data.packing {
            let strategy = PackingStrategy(rawValue: recipe.data.packingStrategy) ?? .bfd
            let rows = Packer.pack(train.examples.map { [$0.inputIDs, $0.labels] }, seqLength: recipe.data.maxLength ?? 1024, strategy: strategy)
            note(DataChecks.packingLine(rows: rows, seqLength: recipe.data.maxLength ?? 1024, strategy: strategy))
            trainItems = rows.count
            collate = { idx in Collator.packed(idx.map { rows[$0] }, padID: padID) }
        } else {
            let examples = train.examples
            trainItems = examples.count
            collate = { idx in Collator.pad(idx.map { examples[$0] }, padID: padID, padToMultipleOf: recipe.data.padToMultipleOf) }
        }
        let evalBatchSize = recipe.training.perDeviceEvalBatchSize
        let evalBatches: [PaddedBatch]
        if recipe.data.evalPacking {
            // eval_packing (default: as packing): the eval set packed like the training set, per-example positions.
            let strategy = PackingStrategy(rawValue: recipe.data.packingStrategy) ?? .bfd
            let rows = Packer.pack(evalExamples.map { [$0.inputIDs, $0.labels] }, seqLength: recipe.data.maxLength ?? 1024, strategy: strategy)
            if !evalExamples.isEmpty { note("data: \(evalExamples.count) eval examples packed into \(rows.count) row(s) (eval_packing)") }
            evalBatches = stride(from: 0, to: rows.count, by: evalBatchSize).map {
                Collator.packed(Array(rows[$0..<min(rows.count, $0 + evalBatchSize)]), padID: padID)
            }
        } else {
            evalBatches = stride(from: 0, to: evalExamples.count, by: evalBatchSize).map {
                Collator.pad(Array(evalExamples[$0..<min(evalExamples.count, $0 + evalBatchSize)]), padID: padID, padToMultipleOf: recipe.data.padToMultipleOf)
            }
        }

        let out = URL(fileURLWithPath: recipe.training.outputDir)
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try AtomicFile.write(resolved.plainYAML(), to: out.appendingPathComponent("recipe.resolved.yaml").path)
        if let quantization, recipe.quantization?.saveQuantized == true {
            // The base weights are frozen, so the quantized base saved before training is the one the adapter trains on.
            let base = out.appendingPathComponent("quantized_base")
            try BitsAndBytesCheckpoint.save(model, config: quantization.config, to: base)
            try TokenizerFiles.copy(from: tokenizerFolder, to: base, chatTemplate: prep.chat?.source)
            note("quantization: quantized base model saved to \(base.path)")
        }
        let dtype = ElementType(rawValue: recipe.model.dtype) ?? .float32
        let persistence: ModelPersistence
        var trainable: [Parameter]? = nil
        var lora: (adapters: [LoRALinear], config: LoRAConfig)?
        if let l = recipe.lora {
            let tied = model.architecture.head == nil
            let (adapters, config) = try Self.applyLoRA(l, to: model, seed: UInt64(recipe.training.seed))
            lora = (adapters, config)
            if tied, model.architecture.head != nil {
                note("peft: modules_to_save \(config.modulesToSave) unties lm_head from the token embedding, as peft does (each trains its own copy); a merged model saves lm_head.weight with tie_word_embeddings: false")
            }
            trainable = LoRA.trainableParameters(model, adapters)
            model.storeFrozenMatrices(as: dtype)
            persistence = AdapterPersistence(model: model, adapters: adapters, config: config, baseModel: recipe.model.nameOrPath,
                                             tokenizerFolder: tokenizerFolder, chatTemplate: prep.chat?.source)
            let n = trainable!.reduce(0) { $0 + $1.value.count }
            note("peft: LoRA r=\(config.r) on \(adapters.count) layers: \(n) trainable parameters (\(String(format: "%.2f", 100 * Double(n) / Double(model.params.count))) %)")
        } else {
            for p in model.params.all { p.setTrainable(true) }
            persistence = FullModelPersistence(model: model, tokenizerFolder: tokenizerFolder, chatTemplate: prep.chat?.source, dtype: dtype)
        }
        let settings = Self.settings(recipe, outputDir: out)
        let dataHash = FileDigest.sha256(train.examples.flatMap { $0.inputIDs + [-1] + $0.labels + [-2] }.withUnsafeBytes { Array($0) })
        let trainer = try SFTTrainer(model: model, settings: settings, trainItems: trainItems, collate: collate, evalBatches: evalBatches,
                                     persistence: persistence, digest: FileDigest.sha256(of:),
                                     fingerprint: ["data_sha256": dataHash, "max_length": "\(recipe.data.maxLength ?? 0)",
                                                   "packing": "\(recipe.data.packing)", "model": recipe.model.nameOrPath],
                                     trainable: trainable)
        let metrics = MetricsLog(url: out.appendingPathComponent("metrics.jsonl"), tty: progressToTTY)
        if settings.tensorBoard { metrics.tensorBoard = try TensorBoardWriter(directory: out.appendingPathComponent("runs")) }
        trainer.onLog = { metrics.write($0, total: trainer.state.maxSteps) }
        let tty = progressToTTY
        trainer.report = { FileHandle.standardError.write(Data(((tty ? "\r\u{1B}[2K" : "") + $0 + "\n").utf8)) }
        if progressToTTY { trainer.onStep = { metrics.progressBar(step: $0, total: $1, loss: $2, elapsed: $3, start: trainer.state.globalStep) } }
        if !recipe.training.samplePrompts.isEmpty {
            let generator = Generator(model: model, tokenizer: prep.tokenizer, chat: prep.chat)
            trainer.afterEval = { step in
                var samples: [Value] = []
                for prompt in recipe.training.samplePrompts {
                    var o = Generator.Options()
                    o.maxNewTokens = 48
                    let ids = (try? generator.promptIds(text: prompt, messages: generator.chat == nil ? nil : [["role": "user", "content": .string(prompt)]])) ?? []
                    let text = generator.tokenizer.decodeText(generator.generate(ids, o), skipSpecialTokens: true)
                    samples.append(["prompt": .string(prompt), "completion": .string(text)])
                    self.note("sample @\(step): \(prompt) → \(text)")
                }
                metrics.write(["samples": .array(samples), "step": .int(step)], total: trainer.state.maxSteps)
            }
        }
        var resume: URL?
        switch recipe.training.resumeFromCheckpoint {
        case .no: break
        case .path(let p): resume = URL(fileURLWithPath: p)
        case .latest:
            resume = trainer.checkpoints.latestValid(warn: note)?.url
            if resume == nil { note("resume_from_checkpoint: no valid checkpoint in \(out.path); starting from the beginning") }
        }
        note("sftrun: \(model.config.family.rawValue) with \(model.params.count) parameters, \(trainItems) training \(recipe.data.packing ? "rows" : "examples"), "
             + "\(trainer.dataSchedule.totalSteps(epochs: settings.numTrainEpochs, maxSteps: settings.maxSteps)) steps; ready in \(String(format: "%.2f", Date().timeIntervalSince(started))) s "
             + String(format: "(tokenizer %.2f s, model %.2f s, data %.2f s)", tokenizerReady.timeIntervalSince(started),
                      modelReady.timeIntervalSince(tokenizerReady), Date().timeIntervalSince(dataStart)))
        StopRequest.install()
        let outcome = try trainer.train(resume: resume)
        try AtomicFile.write(trainer.state.serialized(), to: out.appendingPathComponent("trainer_state.json").path)
        if outcome.interrupted {
            return .failed("interrupted at step \(outcome.steps); checkpoint saved to \(outcome.lastCheckpoint?.path ?? "?"). "
                           + "Resume with: sftrun \(resolved.document.file) --set training.resume_from_checkpoint=true", exitCode: 130)
        }
        try persistence.save(to: out)
        if let lora, recipe.training.mergeAdapter {
            try LoRA.merge(lora.adapters, into: model)
            let merged = out.appendingPathComponent("merged")
            try FullModelPersistence(model: model, tokenizerFolder: tokenizerFolder, chatTemplate: prep.chat?.source, dtype: dtype).save(to: merged)
            note("peft: merged model saved to \(merged.path)")
        }
        try LossCurves.write(trainer.state, to: out.appendingPathComponent("loss.svg"), title: recipe.training.runName ?? out.lastPathComponent)
        try RecipeLock.write(resolved, inputs: lockInputs, to: out.appendingPathComponent("recipe.lock.yaml"))
        note("sftrun: done: \(outcome.steps) steps, train loss \(String(format: "%.4f", outcome.trainLoss)); model saved to \(out.path)")
        return RunResult(succeeded: true, exitCode: 0, message: nil, trainLoss: outcome.trainLoss, evalLoss: outcome.evalLoss)
    }

    /// Wraps the recipe's target layers with LoRA adapters, or loads `peft.adapter_path` to continue training it.
    static func applyLoRA(_ l: Recipe.LoRA, to model: CausalLM, seed: UInt64) throws -> ([LoRALinear], LoRAConfig) {
        if let path = l.adapterPath {
            let loaded = try AdapterFile.load(directory: URL(fileURLWithPath: path), into: model)
            return (loaded.adapters, loaded.config)
        }
        let targets: LoRATargets
        switch l.targetModules {
        case .architectureDefault: targets = .architectureDefault
        case .allLinear: targets = .allLinear
        case .names(let n): targets = .names(n)
        case .pattern(let p): targets = .pattern(p)
        }
        let initWeights: LoRAInit = l.initWeights == "gaussian" ? .gaussian : (l.initWeights == "false" ? .none : .standard)
        let config = LoRAConfig(r: l.r, alpha: l.alpha, dropout: l.dropout, targets: targets, useRSLoRA: l.useRSLoRA,
                                bias: LoRABias(rawValue: l.bias) ?? .none, modulesToSave: l.modulesToSave, ensureWeightTying: l.ensureWeightTying,
                                initWeights: initWeights, seed: seed)
        return (try LoRA.apply(to: model, config), config)
    }

    /// A seeded split: `size` < 1 is a fraction, otherwise a count (like datasets' train_test_split).
    static func split(_ examples: [TokenizedExample], size: Double, seed: UInt64) -> ([TokenizedExample], [TokenizedExample]) {
        var rng = SplitMix64(seed: seed)
        let order = rng.permutation(examples.count)
        let n = size < 1 ? Int((Double(examples.count) * size).rounded(.up)) : Int(size)
        let evalIdx = Set(order.prefix(min(n, examples.count - 1)))
        return (examples.indices.filter { !evalIdx.contains($0) }.map { examples[$0] }, order.prefix(min(n, examples.count - 1)).map { examples[$0] })
    }

    static func settings(_ recipe: Recipe, outputDir: URL) -> TrainerSettings {
        let t = recipe.training
        var s = TrainerSettings(outputDir: outputDir)
        s.numTrainEpochs = t.numTrainEpochs
        s.maxSteps = t.maxSteps
        s.batchSize = t.perDeviceTrainBatchSize
        s.evalBatchSize = t.perDeviceEvalBatchSize
        s.gradientAccumulationSteps = t.gradientAccumulationSteps
        s.learningRate = t.learningRate
        s.scheduleKind = LearningRateSchedule.Kind(rawValue: t.lrSchedulerType) ?? .linear
        s.scheduleKwargs = t.lrSchedulerKwargs
        s.warmupSteps = t.warmupSteps
        s.warmupRatio = t.warmupRatio
        s.weightDecay = t.weightDecay
        s.optimizer = t.optim == "sgd" ? .sgd(momentum: 0) : .adamW(beta1: t.adamBeta1, beta2: t.adamBeta2, epsilon: t.adamEpsilon)
        s.maxGradNorm = t.maxGradNorm
        s.neftuneNoiseAlpha = t.neftuneNoiseAlpha
        s.gradientCheckpointing = t.gradientCheckpointing
        s.loggingSteps = t.loggingSteps
        s.loggingFirstStep = t.loggingFirstStep
        s.evalStrategy = TrainerSettings.Strategy(rawValue: t.evalStrategy) ?? .no
        s.evalSteps = t.evalSteps
        s.saveStrategy = TrainerSettings.Strategy(rawValue: t.saveStrategy) ?? .steps
        s.saveSteps = t.saveSteps
        s.saveTotalLimit = t.saveTotalLimit
        s.seed = t.seed
        s.dataSeed = t.dataSeed
        s.shuffle = recipe.data.shuffle
        s.skipNonfinite = t.skipNonfinite
        s.tensorBoard = t.reportTo.contains("tensorboard")
        return s
    }
}

/// Saves the full model (weights, config, tokenizer files) and restores it from checkpoints.
struct FullModelPersistence: ModelPersistence {
    let model: CausalLM
    let tokenizerFolder: URL
    let chatTemplate: String?
    let dtype: ElementType

    func save(to directory: URL) throws {
        try ModelCheckpoint.save(model, to: directory, dtype: dtype)
        try TokenizerFiles.copy(from: tokenizerFolder, to: directory, chatTemplate: chatTemplate)
    }

    func restore(from directory: URL) throws {
        try ModelCheckpoint.load(model, from: try SafeTensorsSource(directory: directory))
    }
}

/// Saves only the adapter in PEFT's layout (adapter_model.safetensors + adapter_config.json) plus the tokenizer.
struct AdapterPersistence: ModelPersistence {
    let model: CausalLM
    let adapters: [LoRALinear]
    let config: LoRAConfig
    let baseModel: String
    let tokenizerFolder: URL
    let chatTemplate: String?

    func save(to directory: URL) throws {
        try AdapterFile.save(model: model, adapters: adapters, config: config, baseModel: baseModel, to: directory)
        try TokenizerFiles.copy(from: tokenizerFolder, to: directory, chatTemplate: chatTemplate)
    }

    func restore(from directory: URL) throws {
        let file = try SafeTensorsFile(url: directory.appendingPathComponent(AdapterFile.weightsName))
        for e in try AdapterFile.entries(model: model, adapters: adapters, config: config) {
            let values = try file.floats(e.key)
            guard values.count == e.parameter.value.count else {
                throw TrainingError("\(file.url.path): \(e.key) has \(values.count) values, the adapter needs \(e.parameter.value.count)")
            }
            values.withUnsafeBufferPointer { e.parameter.value.floats.update(from: $0.baseAddress!, count: values.count) }
        }
    }
}

/// loss.svg from the log history: train loss per logging step and eval loss.
enum LossCurves {
    static func write(_ state: TrainerState, to url: URL, title: String) throws {
        func series(_ key: String) -> [(step: Int, loss: Double)] {
            state.logHistory.compactMap { e in
                guard let l = e[key]?.doubleValue, let s = e["step"]?.intValue else { return nil }
                return (s, l)
            }
        }
        try LossPlot.write(train: series("loss"), eval: series("eval_loss"), title: title, to: url)
    }
}

/// Copies the tokenizer next to a saved model; a recipe chat template goes into tokenizer_config.json as
/// transformers stores it, so `AutoTokenizer.from_pretrained(output_dir).apply_chat_template` uses it.
enum TokenizerFiles {
    static func copy(from source: URL, to directory: URL, chatTemplate: String?) throws {
        for name in DataPreparation.tokenizerFiles {
            let from = source.appendingPathComponent(name)
            guard let bytes = FileManager.default.contents(atPath: from.path) else { continue }
            var data = [UInt8](bytes)
            if name == "tokenizer_config.json", let chatTemplate, case .object(var o)? = try? JSON.parse(bytes: data) {
                o["chat_template"] = .string(chatTemplate)
                data = Array((JSON.serialize(.object(o), pretty: true) + "\n").utf8)
            }
            try AtomicFile.write(data, to: directory.appendingPathComponent(name).path)
        }
    }
}

/// metrics.jsonl (one JSON object per log entry, plus tokens_per_second) and the progress lines on stderr.
final class MetricsLog: @unchecked Sendable {
    let url: URL
    let tty: Bool
    var lastTokens = 0.0, lastTime = 0.0
    /// `report_to: [tensorboard]`: scalars under transformers' tags (train/loss, eval/loss, ...).
    var tensorBoard: TensorBoardWriter?

    init(url: URL, tty: Bool) {
        self.url = url
        self.tty = tty
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
    }

    var barShown = false

    /// One self-overwriting line on a terminal: bar, step, loss, ETA (log lines print above it).
    func progressBar(step: Int, total: Int, loss: Double, elapsed: Double, start: Int) {
        let width = 24, filled = total > 0 ? width * step / total : width
        let done = max(1, step - start)
        let eta = Int(elapsed / Double(done) * Double(total - step))
        let line = "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "] "
            + String(format: "%d/%d loss %.4f ETA %ds", step, total, loss, eta)
        FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line + (step == total ? "\n" : "")).utf8))
        barShown = step < total
    }

    func write(_ entry: OrderedDictionary<String, Value>, total: Int) {
        var e = entry
        if let tokens = e["num_tokens"]?.doubleValue, let t = e["elapsed_seconds"]?.doubleValue {
            e["tokens_per_second"] = .double(t > lastTime ? (tokens - lastTokens) / (t - lastTime) : 0)
            (lastTokens, lastTime) = (tokens, t)
        }
        let line = JSON.serialize(.object(e)) + "\n"
        if let h = FileHandle(forWritingAtPath: url.path) {
            h.seekToEndOfFile()
            h.write(Data(line.utf8))
            try? h.synchronize()
            try? h.close()
        }
        let step = e["step"]?.intValue ?? 0
        if let tb = tensorBoard {
            for (k, v) in e where k != "step" && k != "epoch" {
                guard let d = v.doubleValue else { continue }
                let tag = k.hasPrefix("eval_") ? "eval/" + k.dropFirst(5) : "train/" + k
                try? tb.addScalar(tag, d, step: step)
            }
            try? tb.flush()
        }
        var parts = ["step \(step)/\(total)"]
        if let l = e["loss"]?.doubleValue { parts.append(String(format: "loss %.4f", l)) }
        if let l = e["eval_loss"]?.doubleValue { parts.append(String(format: "eval_loss %.4f", l)) }
        if let lr = e["learning_rate"]?.doubleValue { parts.append(String(format: "lr %.3g", lr)) }
        if let g = e["grad_norm"]?.doubleValue { parts.append(String(format: "grad_norm %.3f", g)) }
        if let tps = e["tokens_per_second"]?.doubleValue { parts.append(String(format: "%.0f tok/s", tps)) }
        if let t = e["elapsed_seconds"]?.doubleValue, step > 0, total > step {
            parts.append("ETA \(Int(t / Double(step) * Double(total - step)))s")
        }
        if e["train_runtime"] != nil || e["samples"] != nil { return }
        FileHandle.standardError.write(Data(((barShown ? "\r\u{1B}[2K" : "") + parts.joined(separator: " | ") + "\n").utf8))
    }
}

/// recipe.lock.yaml: the resolved recipe plus what was really used (file hashes, sftrun version).
enum RecipeLock {
    static let sftrunVersion = "0.3.0"

    /// The `lock:` section: what this run really read, by sha256.
    static func inputs(model: LoadedModel, tokenizerFolder: URL, dataFiles: [URL], datasetCommits: [String: String] = [:], chatTemplate: String?) -> Value {
        /// Keyed by file name (so the same files in another folder or cache still match); a name seen twice (shards
        /// `0000.parquet` of two splits) is told apart by its folders.
        func hashes(_ files: [URL]) -> Value {
            var out: OrderedDictionary<String, Value> = [:]
            for f in files {
                guard let digest = try? FileDigest.sha256(ofUnchanged: f) else { continue }
                var key = f.lastPathComponent, parent = f.deletingLastPathComponent()
                while out[key] != nil, parent.path != "/" {
                    key = parent.lastPathComponent + "/" + key
                    parent = parent.deletingLastPathComponent()
                }
                out[key] = .string(digest)
            }
            return .object(out)
        }
        let tokenizerFiles = DataPreparation.tokenizerFiles.map { tokenizerFolder.appendingPathComponent($0) }
            .filter { FileManager.default.fileExists(atPath: $0.path) }
        let data = dataFiles.filter { FileManager.default.fileExists(atPath: $0.path) }
        var lock: OrderedDictionary<String, Value> = [
            "sftrun_version": .string(sftrunVersion),
            "model": .object(["source": .string(model.source.path), "files": hashes(model.weightFiles)]),
            "tokenizer": .object(["source": .string(tokenizerFolder.path), "files": hashes(tokenizerFiles)]),
            "data": .object(["files": hashes(data)]),
        ]
        if !datasetCommits.isEmpty {
            lock["data"] = .object(["files": hashes(data),
                                    "hub_commits": .object(.init(uniqueKeysWithValues: datasetCommits.sorted { $0.key < $1.key }.map { ($0.key, Value.string($0.value)) }))])
        }
        if let chatTemplate { lock["chat_template_sha256"] = .string(FileDigest.sha256(Array(chatTemplate.utf8))) }
        return .object(lock)
    }

    static func write(_ resolved: ResolvedRecipe, inputs: Value, to url: URL) throws {
        var value = resolved.value
        _ = value.setValue(inputs, at: ["lock"])
        try AtomicFile.write("# Written by sftrun: the resolved recipe and the exact inputs of this run.\n" + YAMLWriter.write(value), to: url.path)
    }

    /// `--locked LOCK`: every file hash, the chat template and the sftrun version must equal the lock's; the
    /// differences are listed (file names are compared, not the folders they were found in).
    static func verify(_ lockPath: String, inputs: Value) throws {
        guard let text = try? String(contentsOfFile: lockPath, encoding: .utf8) else {
            throw TrainingError("--locked \(lockPath): cannot read the lock file")
        }
        let locked = try YAML.parse(text, file: lockPath).value["lock"]
        guard let locked else { throw TrainingError("--locked \(lockPath): no lock section; give a recipe.lock.yaml written by sftrun") }
        var diffs: [String] = []
        for part in ["model", "tokenizer", "data"] {
            let want = locked[part]?["files"]?.objectValue ?? [:], got = inputs[part]?["files"]?.objectValue ?? [:]
            for name in Set(want.keys).union(got.keys).sorted() where want[name] != got[name] {
                diffs.append("\(part) file \(name): locked \(want[name]?.stringValue ?? "absent"), now \(got[name]?.stringValue ?? "absent")")
            }
        }
        let wantCommits = locked["data"]?["hub_commits"]?.objectValue ?? [:], gotCommits = inputs["data"]?["hub_commits"]?.objectValue ?? [:]
        for repo in Set(wantCommits.keys).union(gotCommits.keys).sorted() where wantCommits[repo] != gotCommits[repo] {
            diffs.append("data \(repo) commit: locked \(wantCommits[repo]?.stringValue ?? "absent"), now \(gotCommits[repo]?.stringValue ?? "absent")")
        }
        for key in ["chat_template_sha256", "sftrun_version"] where locked[key] != inputs[key] {
            diffs.append("\(key): locked \(locked[key]?.stringValue ?? "absent"), now \(inputs[key]?.stringValue ?? "absent")")
        }
        guard diffs.isEmpty else {
            throw TrainingError("--locked \(lockPath): the inputs differ from the lock:\n  " + diffs.joined(separator: "\n  "))
        }
    }
}
