import Datasets
import Foundation
import Models
import OrderedCollections
import TensorCore
import Values
import WeightFiles

/// How the run's weights are written and read back: the full model, or only an adapter (LoRA).
public protocol ModelPersistence {
    /// Writes what `from_pretrained` needs (weights, config, tokenizer files) into `directory`.
    func save(to directory: URL) throws
    /// Restores the trainable weights from a checkpoint folder written by `save`.
    func restore(from directory: URL) throws
}

/// Set by SIGINT/SIGTERM; the loop stops at the next step boundary and checkpoints.
public enum StopRequest {
    nonisolated(unsafe) static var signals: Int32 = 0

    public static var requested: Bool { signals > 0 }

    /// First signal: finish the step, save, exit non-zero. Second: exit at once (committed checkpoints stay intact).
    public static func install() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig) { _ in
                StopRequest.signals += 1
                if StopRequest.signals > 1 { _exit(130) }
            }
        }
    }

    public static func reset() { signals = 0 }
}

/// What a finished (or interrupted) run reports.
public struct TrainOutcome: Sendable {
    public var steps: Int
    public var trainLoss: Double
    public var evalLoss: Double?
    public var interrupted: Bool
    public var lastCheckpoint: URL?
    public var state: TrainerState
}

/// TRL's SFTTrainer loop: per optimizer step, forward/backward over the accumulated micro-batches with the loss
/// normalised by the loss tokens of the whole step, clip (pre-clip norm logged), optimizer step with the step's
/// learning rate, zero the gradients. Logs `log_history` entries with transformers' and TRL's fields.
public final class SFTTrainer {
    public let model: CausalLM
    public let settings: TrainerSettings
    public let trainItems: Int
    let collate: ([Int]) -> PaddedBatch
    public let evalBatches: [PaddedBatch]
    public let persistence: ModelPersistence
    public let checkpoints: CheckpointStore
    /// Settings a resumed run must share with its checkpoint (batching, seed, data and tokenizer hashes).
    public var fingerprint: [String: String]
    /// Progress lines and warnings.
    public var report: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    /// Called with each log entry as it is made (metrics.jsonl, TensorBoard, progress).
    public var onLog: (OrderedDictionary<String, Value>) -> Void = { _ in }
    /// Called after every optimizer step with (step, total, step loss, seconds since start): the live progress bar.
    public var onStep: (Int, Int, Double, Double) -> Void = { _, _, _, _ in }
    /// Called after each evaluation with the global step (sample generations hook in here).
    public var afterEval: (Int) -> Void = { _ in }
    public private(set) var state = TrainerState()
    let parameters: [Parameter]
    var optimizer: Optimizer

    public init(model: CausalLM, settings: TrainerSettings, trainItems: Int, collate: @escaping ([Int]) -> PaddedBatch,
                evalBatches: [PaddedBatch], persistence: ModelPersistence, digest: @escaping (URL) throws -> String,
                fingerprint: [String: String] = [:], trainable: [Parameter]? = nil) throws {
        guard trainItems > 0 else { throw TrainingError("the training set is empty after preparation; check data.train and data.max_length") }
        self.model = model
        self.settings = settings
        self.trainItems = trainItems
        self.collate = collate
        self.evalBatches = evalBatches
        self.persistence = persistence
        self.checkpoints = CheckpointStore(directory: settings.outputDir, digest: digest)
        parameters = trainable ?? model.params.trainable
        guard !parameters.isEmpty else { throw TrainingError("no parameter is trainable; check peft settings") }
        switch settings.optimizer {
        case .adamW(let b1, let b2, let eps): optimizer = AdamW(beta1: b1, beta2: b2, epsilon: eps, weightDecay: settings.weightDecay)
        case .sgd(let m): optimizer = SGD(momentum: m, weightDecay: settings.weightDecay)
        }
        self.fingerprint = fingerprint.merging([
            "per_device_train_batch_size": "\(settings.batchSize)",
            "gradient_accumulation_steps": "\(settings.gradientAccumulationSteps)",
            "seed": "\(settings.seed)", "data_seed": "\(settings.dataSeed ?? settings.seed)",
            "shuffle": "\(settings.shuffle)", "train_items": "\(trainItems)",
        ]) { a, _ in a }
        model.gradientCheckpointing = settings.gradientCheckpointing
    }

    var slots: [ParameterSlot] {
        parameters.map { p in
            ParameterSlot(values: UnsafeMutableBufferPointer(start: p.value.floats, count: p.value.count),
                          gradient: UnsafeMutableBufferPointer(start: p.grad!.floats, count: p.value.count), decays: p.decays)
        }
    }

    public var dataSchedule: DataSchedule {
        DataSchedule(items: trainItems, batchSize: settings.batchSize, accumulation: settings.gradientAccumulationSteps,
                     shuffle: settings.shuffle, seed: UInt64(truncatingIfNeeded: settings.dataSeed ?? settings.seed))
    }

    static func input(_ b: PaddedBatch) -> ModelInput {
        ModelInput(batch: b.batchSize, seqLen: b.length, inputIds: b.inputIDs.map(Int32.init), labels: b.labels.map(Int32.init),
                   attentionMask: b.attentionMask.map { $0 != 0 }, positions: b.positionIDs.map(Int32.init),
                   segmentIds: b.segmentIDs.map { $0.map(Int32.init) })
    }

    /// Trains from scratch or from `resume` (a checkpoint folder; nil = start fresh).
    public func train(resume: URL? = nil) throws -> TrainOutcome {
        let schedule = dataSchedule
        let total = schedule.totalSteps(epochs: settings.numTrainEpochs, maxSteps: settings.maxSteps)
        let warmup = LearningRateSchedule.warmupSteps(steps: settings.warmupSteps, ratio: settings.warmupRatio, total: total)
        var lrs = LearningRateSchedule(kind: settings.scheduleKind, peak: settings.learningRate, warmupSteps: warmup, totalSteps: total)
        if let v = settings.scheduleKwargs["num_cycles"] { lrs.numCycles = v }
        if let v = settings.scheduleKwargs["min_lr_rate"] { lrs.minLRRate = v }
        if let v = settings.scheduleKwargs["min_lr"] { lrs.minLRRate = v / settings.learningRate }
        if let v = settings.scheduleKwargs["power"] { lrs.power = v }
        if let v = settings.scheduleKwargs["lr_end"] { lrs.lrEnd = v }
        let logEvery = TrainerSettings.interval(settings.loggingSteps, total: total)
        let evalEvery = TrainerSettings.interval(settings.evalSteps ?? settings.loggingSteps, total: total)
        let saveEvery = TrainerSettings.interval(settings.saveSteps, total: total)
        state.maxSteps = total
        state.loggingSteps = logEvery
        state.evalSteps = evalEvery
        state.saveSteps = saveEvery
        state.trainBatchSize = settings.batchSize
        state.numTrainEpochs = Int((Double(total) / Double(schedule.stepsPerEpoch)).rounded(.up))
        model.neftuneNoiseAlpha = settings.neftuneNoiseAlpha
        checkpoints.removeStaleStaging()

        var start = 0
        var lastCheckpoint: URL?
        if let resume {
            try restore(resume)
            start = state.globalStep
            lastCheckpoint = resume
            report("resumed from \(resume.path) at step \(start) of \(total)")
        }
        let began = Date()
        var window = (loss: 0.0, steps: 0, entropy: [Double](), accuracy: [Double]())
        var allLoss = 0.0
        var evalLoss: Double?
        var interrupted = false
        var step = start
        while step < total {
            let (epoch, groups, progress) = schedule.step(step)
            let batches = Profiler.measure("data (collate)") { groups.map(collate) }
            let items = batches.reduce(0) { $0 + $1.lossTokenCount }
            let scale = 1 / Float(max(1, items))
            var lossSum = 0.0
            for (m, b) in batches.enumerated() {
                let r = model.forwardBackward(Self.input(b), gradScale: scale,
                                              dropoutSeed: UInt64(truncatingIfNeeded: settings.seed) &* 0x100_0000 &+ UInt64(step) &* 64 &+ UInt64(m))
                lossSum += r.lossSum
                window.entropy.append(r.count > 0 ? r.entropySum / Double(r.count) : 0)
                window.accuracy.append(r.count > 0 ? Double(r.correct) / Double(r.count) : 0)
                state.numInputTokensSeen += b.attentionMask.reduce(0, +)
            }
            let stepLoss = lossSum / Double(max(1, items))
            let gradNorm = Profiler.measure("gradient norm + clipping") { clipGradientNorm(slots, maxNorm: settings.maxGradNorm) }
            let lr = lrs.learningRate(at: step)
            if !stepLoss.isFinite || !gradNorm.isFinite {
                let what = "step \(step + 1): the loss is \(stepLoss) and the gradient norm \(gradNorm)"
                guard settings.skipNonfinite else {
                    throw TrainingError("\(what); stopping. Last good checkpoint: \(lastCheckpoint?.path ?? "none"). Lower training.learning_rate, check the data, or set training.skip_nonfinite: true to skip such steps")
                }
                report("warning: \(what); skipping the update (training.skip_nonfinite)")
            } else {
                Profiler.measure("optimizer step") { optimizer.step(slots, lr: lr) }
            }
            Profiler.measure("zero gradients") { for p in parameters { p.grad?.zero() } }
            step += 1
            state.globalStep = step
            state.epoch = progress
            window.loss += stepLoss.isFinite ? stepLoss : 0
            window.steps += 1
            allLoss += stepLoss.isFinite ? stepLoss : 0
            onStep(step, total, stepLoss, Date().timeIntervalSince(began))
            if step % logEvery == 0 || (step == 1 && settings.loggingFirstStep) || step == total {
                var e: OrderedDictionary<String, Value> = [
                    "loss": TrainerState.number(window.loss / Double(window.steps)),
                    "grad_norm": TrainerState.number(gradNorm),
                    "learning_rate": .double(lr),
                    "entropy": .double(window.entropy.reduce(0, +) / Double(max(1, window.entropy.count))),
                    "mean_token_accuracy": .double(window.accuracy.reduce(0, +) / Double(max(1, window.accuracy.count))),
                    "num_tokens": .double(Double(state.numInputTokensSeen)),
                    "epoch": .double(progress),
                    "step": .int(step),
                ]
                let elapsed = Date().timeIntervalSince(began)
                e["elapsed_seconds"] = .double(elapsed)
                log(e)
                window = (0, 0, [], [])
            }
            let epochEnd = step % schedule.stepsPerEpoch == 0 || step == total
            if !evalBatches.isEmpty && ((settings.evalStrategy == .steps && step % evalEvery == 0) || (settings.evalStrategy == .epoch && epochEnd)) {
                evalLoss = evaluate(epoch: progress)
                afterEval(step)
            }
            interrupted = StopRequest.requested
            if interrupted || (settings.saveStrategy == .steps && step % saveEvery == 0 && step < total)
                || (settings.saveStrategy == .epoch && epochEnd && step < total) {
                lastCheckpoint = try saveCheckpoint(epoch: epoch, protecting: resume)
            }
            if interrupted { break }
        }
        if !interrupted {
            let runtime = Date().timeIntervalSince(began), done = step - start
            log(["train_runtime": .double(runtime),
                 "train_samples_per_second": .double(Double(done * settings.batchSize * settings.gradientAccumulationSteps) / max(runtime, 1e-9)),
                 "train_steps_per_second": .double(Double(done) / max(runtime, 1e-9)),
                 "total_flos": .double(0), "train_loss": .double(allLoss / Double(max(1, done))),
                 "epoch": .double(state.epoch), "step": .int(step)])
        }
        return TrainOutcome(steps: step, trainLoss: allLoss / Double(max(1, step - start)), evalLoss: evalLoss,
                            interrupted: interrupted, lastCheckpoint: lastCheckpoint, state: state)
    }

    func log(_ e: OrderedDictionary<String, Value>) {
        var history = e
        history.removeValue(forKey: "elapsed_seconds")
        state.logHistory.append(history)
        onLog(e)
    }

    /// Eval loss as transformers computes it: each batch's mean loss, weighted by the batch's rows.
    @discardableResult
    public func evaluate(epoch: Double) -> Double {
        var weighted = 0.0, rows = 0, entropy = 0.0, accuracy = 0.0
        for b in evalBatches {
            let r = model.loss(Self.input(b))
            guard r.count > 0 else { continue }
            weighted += r.lossSum / Double(r.count) * Double(b.batchSize)
            rows += b.batchSize
            entropy += r.entropySum / Double(r.count)
            accuracy += Double(r.correct) / Double(r.count)
        }
        let loss = weighted / Double(max(1, rows)), n = Double(max(1, evalBatches.count))
        log(["eval_loss": TrainerState.number(loss), "eval_perplexity": TrainerState.number(Foundation.exp(loss)),
             "eval_entropy": .double(entropy / n), "eval_mean_token_accuracy": .double(accuracy / n),
             "epoch": .double(epoch), "step": .int(state.globalStep)])
        return loss
    }

    // MARK: checkpoints

    func saveCheckpoint(epoch: Int, protecting: URL?) throws -> URL {
        let url = try checkpoints.save(step: state.globalStep, fingerprint: fingerprint) { dir in
            try persistence.save(to: dir)
            try writeOptimizer(to: dir.appendingPathComponent("optimizer.safetensors"))
            try AtomicFile.write(state.serialized(), to: dir.appendingPathComponent("trainer_state.json").path)
            let cursor: Value = ["global_step": .int(state.globalStep), "epoch": .int(epoch), "seed": .int(settings.seed),
                                 "data_position": .int(state.globalStep - epoch * dataSchedule.stepsPerEpoch)]
            try AtomicFile.write(JSON.serialize(cursor, pretty: true) + "\n", to: dir.appendingPathComponent("sftrun_state.json").path)
        }
        checkpoints.rotate(limit: settings.saveTotalLimit, keep: protecting)
        report("saved \(url.path)")
        return url
    }

    func writeOptimizer(to url: URL) throws {
        var tensors: [TensorData] = []
        let st = optimizer.state
        let perParam = parameters.isEmpty ? 0 : st.count / parameters.count
        let suffixes = perParam == 2 ? ["exp_avg", "exp_avg_sq"] : ["momentum_buffer"]
        for (i, p) in parameters.enumerated() where perParam > 0 {
            for (k, suffix) in suffixes.enumerated() {
                tensors.append(ModelCheckpoint.tensorData("\(p.name).\(suffix)", shape: p.value.shape, values: st[i * perParam + k], dtype: .float32))
            }
        }
        try SafeTensorsWriter.write(tensors, metadata: ["format": "pt", "step": "\(optimizer.stepCount)", "optimizer": suffixes[0]], to: url)
    }

    func restore(_ checkpoint: URL) throws {
        switch checkpoints.verify(checkpoint) {
        case .failure(let e): throw e
        case .success(let fp):
            let differing = fingerprint.keys.sorted().filter { fp[$0] != nil && fp[$0] != fingerprint[$0] }
            guard differing.isEmpty else {
                let list = differing.map { "\($0): checkpoint \(fp[$0]!) vs recipe \(fingerprint[$0]!)" }.joined(separator: "; ")
                throw TrainingError("cannot resume from \(checkpoint.path): \(list); resume with the recipe that made it, or start a new output_dir")
            }
        }
        try persistence.restore(from: checkpoint)
        let opt = try SafeTensorsFile(url: checkpoint.appendingPathComponent("optimizer.safetensors"))
        var st: [[Float]] = []
        let suffixes = opt.names.contains { $0.hasSuffix(".exp_avg") } ? ["exp_avg", "exp_avg_sq"]
            : opt.names.contains { $0.hasSuffix(".momentum_buffer") } ? ["momentum_buffer"] : []
        for p in parameters {
            for s in suffixes { st.append(try opt.floats("\(p.name).\(s)")) }
        }
        optimizer.state = st
        optimizer.stepCount = Int(opt.metadata["step"] ?? "0") ?? 0
        state = try TrainerState.load(checkpoint.appendingPathComponent("trainer_state.json"))
    }
}
