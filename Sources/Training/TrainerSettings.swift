import Foundation
import Models

/// What the loop needs from the recipe's `training:` section (SFTRunKit maps the recipe onto it).
public struct TrainerSettings: Sendable {
    public enum OptimizerChoice: Sendable, Equatable {
        case adamW(beta1: Double, beta2: Double, epsilon: Double)
        case sgd(momentum: Double)
    }
    public enum Strategy: String, Sendable { case no, steps, epoch }

    public var outputDir: URL
    public var numTrainEpochs: Double = 3
    /// > 0 overrides epochs.
    public var maxSteps: Int = -1
    public var batchSize: Int = 8
    public var evalBatchSize: Int = 8
    public var gradientAccumulationSteps: Int = 1
    public var learningRate: Double = 2e-5
    public var scheduleKind: LearningRateSchedule.Kind = .linear
    public var scheduleKwargs: [String: Double] = [:]
    public var warmupSteps: Int = 0
    public var warmupRatio: Double = 0
    public var weightDecay: Double = 0
    public var optimizer: OptimizerChoice = .adamW(beta1: 0.9, beta2: 0.999, epsilon: 1e-8)
    public var maxGradNorm: Double = 1
    public var neftuneNoiseAlpha: Double?
    public var gradientCheckpointing = false
    /// < 1 means a fraction of the total steps (transformers' rule).
    public var loggingSteps: Double = 10
    public var loggingFirstStep = false
    public var evalStrategy: Strategy = .no
    public var evalSteps: Double?
    public var saveStrategy: Strategy = .steps
    public var saveSteps: Double = 500
    public var saveTotalLimit: Int?
    public var seed: Int = 42
    public var dataSeed: Int?
    public var shuffle = true
    public var skipNonfinite = false
    public var tensorBoard = false

    public init(outputDir: URL) { self.outputDir = outputDir }

    /// transformers: a value below 1 is a ratio of the total steps, rounded up.
    static func interval(_ v: Double, total: Int) -> Int {
        v < 1 ? max(1, Int((Double(total) * v).rounded(.up))) : Int(v)
    }
}

/// The order micro-batches are drawn in: a seeded permutation per epoch (or file order), cut into batches of
/// `batchSize`, grouped `gradientAccumulationSteps` at a time into optimizer steps that never span epochs
/// (transformers' rule: the last group of an epoch may be short). A pure function of the settings, so a
/// resumed run draws exactly the batches the uninterrupted run would have.
public struct DataSchedule: Sendable, Equatable {
    public let items: Int
    public let batchSize: Int
    public let accumulation: Int
    public let shuffle: Bool
    public let seed: UInt64

    public init(items: Int, batchSize: Int, accumulation: Int, shuffle: Bool, seed: UInt64) {
        self.items = items
        self.batchSize = batchSize
        self.accumulation = accumulation
        self.shuffle = shuffle
        self.seed = seed
    }

    public var microBatchesPerEpoch: Int { (items + batchSize - 1) / batchSize }
    public var stepsPerEpoch: Int { (microBatchesPerEpoch + accumulation - 1) / accumulation }

    public func totalSteps(epochs: Double, maxSteps: Int) -> Int {
        maxSteps > 0 ? maxSteps : Int((epochs * Double(stepsPerEpoch)).rounded(.up))
    }

    public func order(epoch: Int) -> [Int] {
        guard shuffle else { return Array(0..<items) }
        var rng = SplitMix64(seed: seed &+ UInt64(epoch) &* 0x9E37_79B9)
        return rng.permutation(items)
    }

    /// Step s (0-based) → its epoch and the item indices of each of its micro-batches.
    public func step(_ s: Int) -> (epoch: Int, microBatches: [[Int]], epochProgress: Double) {
        let epoch = s / stepsPerEpoch, inEpoch = s % stepsPerEpoch
        let order = self.order(epoch: epoch)
        let firstMicro = inEpoch * accumulation
        let lastMicro = min(microBatchesPerEpoch, firstMicro + accumulation)
        let groups = (firstMicro..<lastMicro).map { m in Array(order[(m * batchSize)..<min(items, (m + 1) * batchSize)]) }
        return (epoch, groups, Double(epoch) + Double(lastMicro) / Double(microBatchesPerEpoch))
    }
}
