import Models
import TensorCore

/// How the adapter matrices start (peft's `init_lora_weights`).
public enum LoRAInit: Sendable, Equatable {
    /// `true`: A as nn.Linear's default, kaiming_uniform_(a=√5) = U(−1/√in, 1/√in); B zero, so training starts at the base model.
    case standard
    /// `"gaussian"`: A ~ N(0, 1/r²) (std 1/r), B zero.
    case gaussian
    /// `false`: peft skips its own init, so both A and B keep nn.Linear's default U(−1/√fan_in, 1/√fan_in); the
    /// adapter changes the model from the first step (peft uses this for tests only).
    case none
}

/// LoRA on one linear layer: y += scaling · (dropout(x)·Aᵀ)·Bᵀ with A [r, in], B [out, r]; the base weight stays as is.
/// Dropout (training only) acts on the adapter's input alone, as in peft, with a mask regenerated in backward.
public final class LoRALinear: LinearAdapter {
    /// The wrapped layer's module path (`model.layers.0.self_attn.q_proj`), weight and bias. The layer itself is not
    /// kept: it owns this adapter, and a reference back would keep the whole model alive.
    public let modulePath: String
    public let baseWeight: Parameter
    public let baseBias: Parameter?
    public let inFeatures: Int, outFeatures: Int
    public let loraA: Parameter
    public let loraB: Parameter
    public let r: Int
    public let alpha: Double
    public let useRSLoRA: Bool
    public let dropout: Double
    /// alpha / r, or alpha / √r with rank-stabilized LoRA.
    public let scaling: Float
    /// The dropout stream of this layer (distinct from the blocks' sites).
    let site: UInt64
    var input: Tensor?, hidden: Tensor?

    /// Adapter for `base`; `index` (its place in `CausalLM.linearLayers`) separates RNG and dropout streams.
    public init(base: LinearLayer, r: Int, alpha: Double, dropout: Double, useRSLoRA: Bool, initWeights: LoRAInit,
                seed: UInt64, index: Int) {
        modulePath = base.modulePath
        baseWeight = base.weight
        baseBias = base.bias
        inFeatures = base.inFeatures
        outFeatures = base.outFeatures
        self.r = r
        self.alpha = alpha
        self.dropout = dropout
        self.useRSLoRA = useRSLoRA
        scaling = Float(useRSLoRA ? alpha / Double(r).squareRoot() : alpha / Double(r))
        site = 0x4C6F_5241_0000_0000 | UInt64(index)
        let path = modulePath
        loraA = Parameter(name: "\(path).lora_A.weight", shape: [r, inFeatures], decays: true)
        loraB = Parameter(name: "\(path).lora_B.weight", shape: [outFeatures, r], decays: true)
        var rng = SeededRandom(seed: seed, stream: UInt64(index))
        let a = loraA.value.floats, b = loraB.value.floats
        switch initWeights {
        case .standard:
            let bound = 1 / Double(inFeatures).squareRoot()
            for i in 0..<loraA.value.count { a[i] = rng.uniform(bound) }
        case .gaussian:
            for i in 0..<loraA.value.count { a[i] = rng.normal(1 / Double(r)) }
        case .none:
            let boundA = 1 / Double(inFeatures).squareRoot(), boundB = 1 / Double(r).squareRoot()
            for i in 0..<loraA.value.count { a[i] = rng.uniform(boundA) }
            for i in 0..<loraB.value.count { b[i] = rng.uniform(boundB) }
        }
        loraA.setTrainable(true)
        loraB.setTrainable(true)
    }

    func dropoutActive(_ ctx: StepContext) -> Bool { ctx.training && dropout > 0 }

    public func forward(_ x: Tensor, into y: Tensor, _ ctx: StepContext) {
        let probe = Profiler.begin("LoRA adapters forward")
        defer { Profiler.end(probe) }
        let n = x.count / inFeatures, out = outFeatures
        var xd = x
        if dropoutActive(ctx) {
            xd = x.copy()
            ctx.dropout(xd, p: dropout, site: site)
        }
        let h = Tensor(zeros: [n, r])
        Linear.forward(ctx.backend, x: xd.floats, weight: loraA.value.floats, bias: nil, y: h.floats,
                       rows: n, inFeatures: inFeatures, outFeatures: r)
        ctx.backend.gemm(transA: false, transB: true, m: n, n: out, k: r, alpha: scaling, a: h.floats, lda: r,
                         b: loraB.value.floats, ldb: r, beta: 1, c: y.floats, ldc: out)
        if ctx.save { input = xd; hidden = h }
    }

    public func backward(_ dy: Tensor, _ ctx: StepContext, dx: Tensor?) {
        let probe = Profiler.begin("LoRA adapters backward")
        defer { Profiler.end(probe) }
        guard let xd = input, let h = hidden else { preconditionFailure("\(loraA.name): backward without a saved forward") }
        let be = ctx.backend, n = dy.count / outFeatures, inF = inFeatures, out = outFeatures
        if let dB = loraB.grad {
            be.gemm(transA: true, transB: false, m: out, n: r, k: n, alpha: scaling, a: dy.floats, lda: out,
                    b: h.floats, ldb: r, beta: 1, c: dB.floats, ldc: r)
        }
        // dh = scaling · dy·B, the gradient at A's output.
        let dh = Tensor(zeros: [n, r])
        be.gemm(transA: false, transB: false, m: n, n: r, k: out, alpha: scaling, a: dy.floats, lda: out,
                b: loraB.value.floats, ldb: r, beta: 0, c: dh.floats, ldc: r)
        if let dA = loraA.grad {
            be.gemm(transA: true, transB: false, m: r, n: inF, k: n, alpha: 1, a: dh.floats, lda: r,
                    b: xd.floats, ldb: inF, beta: 1, c: dA.floats, ldc: inF)
        }
        if let dx {
            if dropoutActive(ctx) {
                let dxd = Tensor(zeros: [n, inF])
                be.gemm(transA: false, transB: false, m: n, n: inF, k: r, alpha: 1, a: dh.floats, lda: r,
                        b: loraA.value.floats, ldb: inF, beta: 0, c: dxd.floats, ldc: inF)
                Dropout(probability: dropout, seed: ctx.dropoutSeed).backward(be, stream: site, dy: dxd.floats, dx: dx.floats, count: dxd.count)
            } else {
                be.gemm(transA: false, transB: false, m: n, n: inF, k: r, alpha: 1, a: dh.floats, lda: r,
                        b: loraA.value.floats, ldb: inF, beta: 1, c: dx.floats, ldc: inF)
            }
        }
        input = nil; hidden = nil
    }

    /// Folds the adapter into the base weight: W += scaling·B·A (`LoRA.merge` also detaches it from the layer).
    func fold(backend: Backend) throws {
        var w = baseWeight.value
        if w.elementType == .packed {
            // QLoRA: merge into the dequantized weight (a float32 model comes out, as with peft's merge_and_unload
            // followed by dequantize).
            w = w.copy()
            baseWeight.value = w
        }
        guard w.elementType == .float32 else {
            throw LoRAError(baseWeight.name, "the base weight is \(w.elementType.rawValue); merging needs float32 weights, load the base model in float32")
        }
        backend.gemm(transA: false, transB: false, m: outFeatures, n: inFeatures, k: r, alpha: scaling,
                     a: loraB.value.floats, lda: r, b: loraA.value.floats, ldb: inFeatures, beta: 1,
                     c: w.floats, ldc: inFeatures)
    }
}
