import Foundation

/// One trainable tensor as the optimizer sees it: its values and its gradient, both float32.
public struct ParameterSlot {
    public var values: UnsafeMutableBufferPointer<Float>
    public var gradient: UnsafeMutableBufferPointer<Float>
    /// transformers groups parameters: no weight decay on biases and norm weights.
    public var decays: Bool

    public init(values: UnsafeMutableBufferPointer<Float>, gradient: UnsafeMutableBufferPointer<Float>, decays: Bool = true) {
        self.values = values
        self.gradient = gradient
        self.decays = decays
    }
}

/// An optimizer over a fixed list of parameter slots; state (moments) is float32, one buffer per slot.
public protocol Optimizer {
    /// Applies one update with learning rate `lr` using the slots' current gradients.
    mutating func step(_ slots: [ParameterSlot], lr: Double)
    /// Number of steps taken (AdamW's bias-correction counter); restored from checkpoints.
    var stepCount: Int { get set }
    /// Flat optimizer state for checkpoints.
    var state: [[Float]] { get set }
}

/// `torch.optim.AdamW` (decoupled weight decay, bias correction, amsgrad off), matching torch 2.15's
/// single-tensor path: decay, moments, then `p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)`.
public struct AdamW: Optimizer {
    public var beta1: Double, beta2: Double, epsilon: Double, weightDecay: Double
    public var stepCount = 0
    var firstMoments: [[Float]] = []
    var secondMoments: [[Float]] = []

    /// Moments interleaved per slot: m0, v0, m1, v1, ...
    public var state: [[Float]] {
        get { zip(firstMoments, secondMoments).flatMap { [$0, $1] } }
        set {
            firstMoments = stride(from: 0, to: newValue.count, by: 2).map { newValue[$0] }
            secondMoments = stride(from: 1, to: newValue.count, by: 2).map { newValue[$0] }
        }
    }

    public init(beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }

    public mutating func step(_ slots: [ParameterSlot], lr: Double) {
        if firstMoments.isEmpty {
            firstMoments = slots.map { [Float](repeating: 0, count: $0.values.count) }
            secondMoments = firstMoments
        }
        stepCount += 1
        let t = Double(stepCount)
        let bc1 = 1 - pow(beta1, t), bc2Sqrt = (1 - pow(beta2, t)).squareRoot()
        let stepSize = Float(lr / bc1), b1 = Float(beta1), b2 = Float(beta2), eps = Float(epsilon)
        let oneMinusB1 = Float(1 - beta1), oneMinusB2 = Float(1 - beta2), bc2 = Float(bc2Sqrt)
        for (i, slot) in slots.enumerated() {
            let decay = slot.decays && weightDecay != 0 ? Float(1 - lr * weightDecay) : 1
            firstMoments[i].withUnsafeMutableBufferPointer { m in
                secondMoments[i].withUnsafeMutableBufferPointer { v in
                    let p = slot.values, g = slot.gradient
                    for j in 0..<p.count {
                        if decay != 1 { p[j] *= decay }
                        m[j] = m[j] * b1 + oneMinusB1 * g[j]
                        v[j] = v[j] * b2 + oneMinusB2 * g[j] * g[j]
                        p[j] -= stepSize * (m[j] / (v[j].squareRoot() / bc2 + eps))
                    }
                }
            }
        }
    }
}

/// `torch.optim.SGD` with momentum and (coupled, L2) weight decay, dampening 0, no Nesterov.
public struct SGD: Optimizer {
    public var momentum: Double, weightDecay: Double
    public var stepCount = 0
    public var state: [[Float]] = []

    public init(momentum: Double = 0, weightDecay: Double = 0) {
        self.momentum = momentum
        self.weightDecay = weightDecay
    }

    public mutating func step(_ slots: [ParameterSlot], lr: Double) {
        let first = state.isEmpty
        if first && momentum != 0 { state = slots.map { [Float](repeating: 0, count: $0.values.count) } }
        stepCount += 1
        let lrF = Float(lr), mu = Float(momentum)
        for (i, slot) in slots.enumerated() {
            let wd = slot.decays ? Float(weightDecay) : 0
            let p = slot.values, g = slot.gradient
            if momentum == 0 {
                for j in 0..<p.count { p[j] -= lrF * (g[j] + wd * p[j]) }
                continue
            }
            state[i].withUnsafeMutableBufferPointer { buf in
                for j in 0..<p.count {
                    let d = g[j] + wd * p[j]
                    buf[j] = first ? d : buf[j] * mu + d
                    p[j] -= lrF * buf[j]
                }
            }
        }
    }
}

/// `torch.nn.utils.clip_grad_norm_`: returns the total L2 norm before clipping (what the Trainer logs) and scales
/// every gradient by `max / (total + 1e-6)` when that is below 1. `maxNorm` 0 only measures.
@discardableResult
public func clipGradientNorm(_ slots: [ParameterSlot], maxNorm: Double) -> Double {
    var sum = 0.0
    for slot in slots {
        var partial: Float = 0
        for g in slot.gradient { partial += g * g }
        sum += Double(partial)
    }
    let total = sum.squareRoot()
    guard maxNorm > 0 else { return total }
    let coefficient = maxNorm / (total + 1e-6)
    if coefficient < 1 {
        let c = Float(coefficient)
        for slot in slots { for j in 0..<slot.gradient.count { slot.gradient[j] *= c } }
    }
    return total
}
