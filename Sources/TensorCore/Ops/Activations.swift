import RealModule

/// Pointwise activations of the supported families; backward accumulates dx += dy·f'(x) from the saved input.
public enum Activation: String, Sendable, CaseIterable {
    /// Exact GELU, 0.5·x·(1 + erf(x/√2)) (OPT-less families, `gelu`).
    case gelu
    /// GPT-2's tanh approximation (`gelu_new`, `gelu_pytorch_tanh`).
    case geluTanh = "gelu_new"
    case relu
    /// x·σ(x) (`silu`, `swish`).
    case silu

    /// Reads an HF config's `activation_function` / `hidden_act`.
    public init?(huggingFaceName name: String) {
        switch name {
        case "gelu": self = .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast": self = .geluTanh
        case "relu": self = .relu
        case "silu", "swish": self = .silu
        default: return nil
        }
    }

    @inline(__always)
    @_specialize(where S == Float)
    public func value<S: KernelScalar>(_ x: S) -> S {
        switch self {
        case .gelu: return x * (1 + S.erf(x / S.sqrt(2))) / 2
        case .geluTanh:
            let inner = S.sqrt(2 / S.pi) * (x + S(0.044715) * x * x * x)
            return x * (1 + S.tanh(inner)) / 2
        case .relu: return x > 0 ? x : 0
        case .silu: return x / (1 + S.exp(-x))
        }
    }

    @inline(__always)
    @_specialize(where S == Float)
    public func derivative<S: KernelScalar>(_ x: S) -> S {
        switch self {
        case .gelu:
            return (1 + S.erf(x / S.sqrt(2))) / 2 + x * S.exp(-x * x / 2) / S.sqrt(2 * S.pi)
        case .geluTanh:
            let c = S.sqrt(2 / S.pi), k = S(0.044715)
            let t = S.tanh(c * (x + k * x * x * x))
            return (1 + t) / 2 + x * (1 - t * t) * c * (1 + 3 * k * x * x) / 2
        case .relu: return x > 0 ? 1 : 0
        case .silu:
            let s = 1 / (1 + S.exp(-x))
            return s * (1 + x * (1 - s))
        }
    }

    @_specialize(where S == Float)
    public func forward<S: KernelScalar>(_ be: Backend, x: UnsafePointer<S>, y: UnsafeMutablePointer<S>, count: Int) {
        let probe = Profiler.begin("activation forward")
        defer { Profiler.end(probe) }
        be.parallelRows(count, minRowsPerTask: 16384) { r in
            for i in r { y[i] = value(x[i]) }
        }
    }

    @_specialize(where S == Float)
    public func backward<S: KernelScalar>(_ be: Backend, dy: UnsafePointer<S>, x: UnsafePointer<S>,
                                          dx: UnsafeMutablePointer<S>, count: Int) {
        let probe = Profiler.begin("activation backward")
        defer { Profiler.end(probe) }
        be.parallelRows(count, minRowsPerTask: 16384) { r in
            for i in r { dx[i] += dy[i] * derivative(x[i]) }
        }
    }

    public func forward(_ be: Backend, _ x: Tensor) -> Tensor {
        let y = Tensor(zeros: x.shape)
        forward(be, x: x.floats, y: y.floats, count: x.count)
        return y
    }
}

/// Gated MLP activation (SwiGLU in Llama/Mistral/Qwen2): h = act(gate) ⊙ up.
public enum GatedActivation {
    @_specialize(where S == Float)
    public static func forward<S: KernelScalar>(_ be: Backend, _ act: Activation, gate: UnsafePointer<S>, up: UnsafePointer<S>,
                                                y: UnsafeMutablePointer<S>, count: Int) {
        let probe = Profiler.begin("gated activation forward")
        defer { Profiler.end(probe) }
        be.parallelRows(count, minRowsPerTask: 16384) { r in
            for i in r { y[i] = act.value(gate[i]) * up[i] }
        }
    }

    /// Accumulates dgate += dy·up·act'(gate), dup += dy·act(gate).
    @_specialize(where S == Float)
    public static func backward<S: KernelScalar>(_ be: Backend, _ act: Activation, dy: UnsafePointer<S>,
                                                 gate: UnsafePointer<S>, up: UnsafePointer<S>,
                                                 dGate: UnsafeMutablePointer<S>, dUp: UnsafeMutablePointer<S>, count: Int) {
        let probe = Profiler.begin("gated activation backward")
        defer { Profiler.end(probe) }
        be.parallelRows(count, minRowsPerTask: 16384) { r in
            for i in r {
                dGate[i] += dy[i] * up[i] * act.derivative(gate[i])
                dUp[i] += dy[i] * act.value(gate[i])
            }
        }
    }
}

/// Residual connections and other sums: y = a + b; backward passes dy to both inputs unchanged.
public enum Elementwise {
    /// a += b.
    @_specialize(where S == Float)
    public static func add<S: KernelScalar>(_ be: Backend, _ a: UnsafeMutablePointer<S>, _ b: UnsafePointer<S>, count: Int) {
        let probe = Profiler.begin("residual add")
        defer { Profiler.end(probe) }
        be.parallelRows(count, minRowsPerTask: 65536) { r in
            for i in r { a[i] += b[i] }
        }
    }

    /// a = b + c.
    @_specialize(where S == Float)
    public static func sum<S: KernelScalar>(_ be: Backend, _ a: UnsafeMutablePointer<S>, _ b: UnsafePointer<S>,
                                            _ c: UnsafePointer<S>, count: Int) {
        be.parallelRows(count, minRowsPerTask: 65536) { r in
            for i in r { a[i] = b[i] + c[i] }
        }
    }

    /// a *= s.
    @_specialize(where S == Float)
    public static func scale<S: KernelScalar>(_ a: UnsafeMutablePointer<S>, by s: S, count: Int) {
        for i in 0..<count { a[i] *= s }
    }
}

/// Softmax over the last dimension; backward dx += y ⊙ (dy − Σ dy⊙y).
public enum Softmax {
    @_specialize(where S == Float)
    public static func forward<S: KernelScalar>(_ be: Backend, x: UnsafePointer<S>, y: UnsafeMutablePointer<S>, rows: Int, columns: Int) {
        be.parallelRows(rows) { range in
            for r in range {
                let xi = x + r * columns, yi = y + r * columns
                var m = -S.infinity
                for c in 0..<columns { m = max(m, xi[c]) }
                var s: S = 0
                for c in 0..<columns { yi[c] = S.exp(xi[c] - m); s += yi[c] }
                let inv = 1 / s
                for c in 0..<columns { yi[c] *= inv }
            }
        }
    }

    @_specialize(where S == Float)
    public static func backward<S: KernelScalar>(_ be: Backend, dy: UnsafePointer<S>, y: UnsafePointer<S>,
                                                 dx: UnsafeMutablePointer<S>, rows: Int, columns: Int) {
        be.parallelRows(rows) { range in
            for r in range {
                let o = r * columns
                var dot: S = 0
                for c in 0..<columns { dot += dy[o + c] * y[o + c] }
                for c in 0..<columns { dx[o + c] += y[o + c] * (dy[o + c] - dot) }
            }
        }
    }
}

/// Inverted dropout with a counter-based mask: element i of call `stream` is dropped when hash(seed, stream, i)
/// falls below p, so backward regenerates the exact mask instead of storing it.
public struct Dropout: Sendable {
    public var probability: Double
    public var seed: UInt64

    public init(probability: Double, seed: UInt64) {
        self.probability = probability
        self.seed = seed
    }

    @inline(__always)
    func keeps(_ stream: UInt64, _ i: Int) -> Bool {
        var z = seed &+ stream &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(i) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) * 0x1p-53 >= probability
    }

    /// y = mask ⊙ x / (1 − p); in place when y == x.
    @_specialize(where S == Float)
    public func forward<S: KernelScalar>(_ be: Backend, stream: UInt64, x: UnsafePointer<S>, y: UnsafeMutablePointer<S>, count: Int) {
        let probe = Profiler.begin("dropout")
        defer { Profiler.end(probe) }
        let scale = S(1 / (1 - probability))
        be.parallelRows(count, minRowsPerTask: 65536) { r in
            for i in r { y[i] = keeps(stream, i) ? x[i] * scale : 0 }
        }
    }

    /// dx += mask ⊙ dy / (1 − p), the same mask as the forward call with this `stream`.
    @_specialize(where S == Float)
    public func backward<S: KernelScalar>(_ be: Backend, stream: UInt64, dy: UnsafePointer<S>, dx: UnsafeMutablePointer<S>, count: Int) {
        let probe = Profiler.begin("dropout")
        defer { Profiler.end(probe) }
        let scale = S(1 / (1 - probability))
        be.parallelRows(count, minRowsPerTask: 65536) { r in
            for i in r where keeps(stream, i) { dx[i] += dy[i] * scale }
        }
    }
}
