import Foundation
import OrderedCollections
import Values

/// transformers' TrainerState: the log history and counters, written as `trainer_state.json` (keys sorted,
/// indent 2, as `json.dumps(..., indent=2, sort_keys=True)` writes them). Non-finite numbers become null.
public struct TrainerState: Sendable, Equatable {
    public var globalStep = 0
    public var epoch = 0.0
    public var maxSteps = 0
    public var loggingSteps = 0
    public var evalSteps = 0
    public var saveSteps = 0
    public var trainBatchSize = 0
    public var numTrainEpochs = 0
    public var numInputTokensSeen = 0
    public var logHistory: [OrderedDictionary<String, Value>] = []
    public var bestMetric: Double?
    public var bestGlobalStep: Int?
    public var bestModelCheckpoint: String?

    public init() {}

    static func number(_ d: Double) -> Value { d.isFinite ? .double(d) : .null }

    public var json: Value {
        func opt<T>(_ v: T?, _ f: (T) -> Value) -> Value { v.map(f) ?? .null }
        let o: OrderedDictionary<String, Value> = [
            "best_global_step": opt(bestGlobalStep) { .int($0) },
            "best_metric": opt(bestMetric) { Self.number($0) },
            "best_model_checkpoint": opt(bestModelCheckpoint) { .string($0) },
            "epoch": Self.number(epoch),
            "eval_steps": .int(evalSteps),
            "global_step": .int(globalStep),
            "is_hyper_param_search": .bool(false),
            "is_local_process_zero": .bool(true),
            "is_world_process_zero": .bool(true),
            "log_history": .array(logHistory.map { .object($0) }),
            "logging_steps": .int(loggingSteps),
            "max_steps": .int(maxSteps),
            "num_input_tokens_seen": .int(numInputTokensSeen),
            "num_train_epochs": .int(numTrainEpochs),
            "save_steps": .int(saveSteps),
            "stateful_callbacks": .object([:]),
            "total_flos": .double(0),
            "train_batch_size": .int(trainBatchSize),
            "trial_name": .null,
            "trial_params": .null,
        ]
        return .object(o)
    }

    public func serialized() -> String { JSON.serialize(json, pretty: true, indent: 2, sortKeys: true) + "\n" }

    /// Reads a trainer_state.json written by sftrun (or transformers, whose NaN tokens the JSON reader rejects:
    /// that is reported as an error naming the file).
    public static func load(_ url: URL) throws -> TrainerState {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw TrainingError("\(url.path): missing; the checkpoint is incomplete")
        }
        let v: Value
        do { v = try JSON.parse(bytes: [UInt8](data)) } catch { throw TrainingError("\(url.path): not valid JSON (\(error))") }
        var s = TrainerState()
        s.globalStep = v["global_step"]?.intValue ?? 0
        s.epoch = v["epoch"]?.doubleValue ?? 0
        s.maxSteps = v["max_steps"]?.intValue ?? 0
        s.loggingSteps = v["logging_steps"]?.intValue ?? 0
        s.evalSteps = v["eval_steps"]?.intValue ?? 0
        s.saveSteps = v["save_steps"]?.intValue ?? 0
        s.trainBatchSize = v["train_batch_size"]?.intValue ?? 0
        s.numTrainEpochs = v["num_train_epochs"]?.intValue ?? 0
        s.numInputTokensSeen = v["num_input_tokens_seen"]?.intValue ?? 0
        s.logHistory = v["log_history"]?.arrayValue?.compactMap(\.objectValue) ?? []
        s.bestMetric = v["best_metric"]?.doubleValue
        s.bestGlobalStep = v["best_global_step"]?.intValue
        s.bestModelCheckpoint = v["best_model_checkpoint"]?.stringValue
        return s
    }
}

/// A failure of the training loop, worded for the person running it.
public struct TrainingError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public var exitCode: Int32
    public init(_ description: String, exitCode: Int32 = 1) {
        self.description = description
        self.exitCode = exitCode
    }
}
