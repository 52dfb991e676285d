import RealModule

/// How rotary frequencies are stretched for longer contexts (HF `rope_scaling` / `rope_parameters`).
public enum RopeScaling: Sendable, Equatable {
    case none
    /// Positions divided by `factor` (inv_freq / factor).
    case linear(factor: Double)
    /// NTK-aware base change once the batch is longer than `maxPositionEmbeddings`.
    case dynamic(factor: Double)
    /// Llama 3.1's wavelength-dependent scaling.
    case llama3(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositionEmbeddings: Int)
}

/// Rotary position embedding on [tokens, heads, headDim] in HF's rotate_half layout (first and second halves
/// of each head pair up), with per-token positions so packed examples restart at 0.
public struct RotaryEmbedding: Sendable {
    public let headDim: Int
    public let theta: Double
    public let scaling: RopeScaling
    public let maxPositionEmbeddings: Int

    public init(headDim: Int, theta: Double, scaling: RopeScaling = .none, maxPositionEmbeddings: Int) {
        precondition(headDim % 2 == 0, "rotary head_dim must be even, got \(headDim)")
        self.headDim = headDim
        self.theta = theta
        self.scaling = scaling
        self.maxPositionEmbeddings = maxPositionEmbeddings
    }

    /// inv_freq as transformers computes it in float32: 1 / base^(2i/d), then the scaling rule.
    @_specialize(where S == Float)
    public func inverseFrequencies<S: KernelScalar>(maxPosition: Int, as: S.Type = S.self) -> [S] {
        let dim = headDim
        var base = S(theta)
        if case .dynamic(let factor) = scaling, maxPosition + 1 > maxPositionEmbeddings {
            let seqLen = S(maxPosition + 1), f = S(factor)
            base = base * S.pow(f * seqLen / S(maxPositionEmbeddings) - (f - 1), S(dim) / S(dim - 2))
        }
        var inv = (0..<(dim / 2)).map { 1 / S.pow(base, S(2 * $0) / S(dim)) }
        switch scaling {
        case .none, .dynamic: break
        case .linear(let factor):
            inv = inv.map { $0 / S(factor) }
        case .llama3(let factor, let low, let high, let original):
            let f = S(factor), lowWave = S(original) / S(low), highWave = S(original) / S(high)
            inv = inv.map { freq in
                let wavelen = 2 * S.pi / freq
                let scaled = wavelen > lowWave ? freq / f : freq
                if wavelen < highWave || wavelen > lowWave { return scaled }
                let smooth = (S(original) / wavelen - S(low)) / (S(high) - S(low))
                return (1 - smooth) * scaled / f + smooth * scaled
            }
        }
        return inv
    }

    /// cos/sin tables [tokens, headDim/2] for the given positions.
    @_specialize(where S == Float)
    public func tables<S: KernelScalar>(positions: UnsafePointer<Int32>, count n: Int, as: S.Type = S.self) -> (cos: [S], sin: [S]) {
        var maxPos = 0
        for i in 0..<n { maxPos = max(maxPos, Int(positions[i])) }
        let inv: [S] = inverseFrequencies(maxPosition: maxPos)
        let half = headDim / 2
        var c = [S](repeating: 0, count: n * half), s = c
        for i in 0..<n {
            let p = S(positions[i])
            for j in 0..<half {
                let angle = p * inv[j]
                c[i * half + j] = S.cos(angle)
                s[i * half + j] = S.sin(angle)
            }
        }
        return (c, s)
    }

    /// x [tokens, heads, headDim] rotated in place; `inverse` applies the transpose (the backward pass).
    @_specialize(where S == Float)
    public func apply<S: KernelScalar>(_ be: Backend, _ x: UnsafeMutablePointer<S>, tokens n: Int, heads: Int,
                                       cos: [S], sin: [S], inverse: Bool = false) {
        let probe = Profiler.begin("rotary")
        defer { Profiler.end(probe) }
        let half = headDim / 2, d = headDim
        cos.withUnsafeBufferPointer { cp in
            sin.withUnsafeBufferPointer { sp in
                let c = cp.baseAddress!, s = sp.baseAddress!
                be.parallelRows(n, minRowsPerTask: 16) { range in
                    for i in range {
                        for h in 0..<heads {
                            let v = x + (i * heads + h) * d
                            for j in 0..<half {
                                let cj = c[i * half + j], sj = inverse ? -s[i * half + j] : s[i * half + j]
                                let a = v[j], b = v[j + half]
                                v[j] = a * cj - b * sj
                                v[j + half] = b * cj + a * sj
                            }
                        }
                    }
                }
            }
        }
    }
}
