import Foundation

/// transformers' learning-rate schedules (`get_scheduler`, transformers 5.24 `optimization.py`), as a multiplier of
/// the peak rate for 0-based step `s`. Step 0 of a warmup runs with lr = 0, as in the Trainer.
public struct LearningRateSchedule: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case constant, constantWithWarmup = "constant_with_warmup", linear, cosine
        case cosineWithMinLR = "cosine_with_min_lr", polynomial
    }

    public var kind: Kind
    public var peak: Double
    public var warmupSteps: Int
    public var totalSteps: Int
    public var numCycles: Double = 0.5
    /// cosine_with_min_lr floor as a fraction of the peak (`min_lr_rate`, or `min_lr / peak`).
    public var minLRRate: Double = 0
    public var power: Double = 1
    public var lrEnd: Double = 1e-7

    public init(kind: Kind, peak: Double, warmupSteps: Int, totalSteps: Int, numCycles: Double = 0.5,
                minLRRate: Double = 0, power: Double = 1, lrEnd: Double = 1e-7) {
        self.kind = kind
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.numCycles = numCycles
        self.minLRRate = minLRRate
        self.power = power
        self.lrEnd = lrEnd
    }

    /// `warmup_ratio` → steps, as transformers' `get_warmup_steps`: `ceil(total * ratio)`; explicit steps win.
    public static func warmupSteps(steps: Int, ratio: Double, total: Int) -> Int {
        steps > 0 ? steps : Int((Double(total) * ratio).rounded(.up))
    }

    /// The learning rate used at 0-based optimizer step `s`.
    public func learningRate(at s: Int) -> Double {
        let w = Double(warmupSteps), t = Double(totalSteps), x = Double(s)
        if kind != .constant && s < warmupSteps { return peak * x / max(1, w) }
        switch kind {
        case .constant, .constantWithWarmup:
            return peak
        case .linear:
            return peak * max(0, (t - x) / max(1, t - w))
        case .cosine:
            let progress = (x - w) / max(1, t - w)
            return peak * max(0, 0.5 * (1 + cos(Double.pi * numCycles * 2 * progress)))
        case .cosineWithMinLR:
            let progress = (x - w) / max(1, t - w)
            let factor = 0.5 * (1 + cos(Double.pi * numCycles * 2 * progress))
            return peak * max(0, factor * (1 - minLRRate) + minLRRate)
        case .polynomial:
            if s > totalSteps { return lrEnd }
            let remaining = 1 - (x - w) / (t - w)
            return (peak - lrEnd) * pow(remaining, power) + lrEnd
        }
    }
}
