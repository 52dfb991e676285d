import TensorCore

/// What one forward/backward pass over a batch shares between layers: shapes, masks, rotary tables, and whether
/// activations are kept for backward (off in eval and in the first pass of a checkpointed block).
public final class StepContext {
    public let backend: Backend
    public let batch: Int, seqLen: Int
    public var tokens: Int { batch * seqLen }
    public let positions: [Int32]
    public let keyValid: [Bool]?
    public let segmentIds: [Int32]?
    public let training: Bool
    public var save: Bool
    /// Dropout seed of this step; each site derives its own stream from it.
    public let dropoutSeed: UInt64
    var ropeCos: [Float] = [], ropeSin: [Float] = []
    /// Set while decoding: attention appends to and reads from it (see Decoding.swift).
    var kvCache: KVCache?

    public init(backend: Backend, batch: Int, seqLen: Int, positions: [Int32], keyValid: [Bool]?, segmentIds: [Int32]?,
                training: Bool, save: Bool, dropoutSeed: UInt64 = 0) {
        self.backend = backend
        self.batch = batch
        self.seqLen = seqLen
        self.positions = positions
        self.keyValid = keyValid
        self.segmentIds = segmentIds
        self.training = training
        self.save = save
        self.dropoutSeed = dropoutSeed
    }

    public func mask(window: Int?) -> AttentionMask {
        AttentionMask(keyValid: keyValid, segmentIds: segmentIds, window: window)
    }

    /// Inverted dropout in place on `x` (training only); `site` names the place in the network.
    public func dropout(_ x: Tensor, p: Double, site: UInt64) {
        guard training, p > 0 else { return }
        Dropout(probability: p, seed: dropoutSeed).forward(backend, stream: site, x: x.floats, y: x.floats, count: x.count)
    }

    /// Gradient through the dropout at `site`: a new tensor, or `dy` itself when dropout is off.
    public func dropoutBackward(_ dy: Tensor, p: Double, site: UInt64) -> Tensor {
        guard training, p > 0 else { return dy }
        let dx = Tensor(zeros: dy.shape)
        Dropout(probability: p, seed: dropoutSeed).backward(backend, stream: site, dy: dy.floats, dx: dx.floats, count: dy.count)
        return dx
    }
}

/// A trainable side path added to a linear layer whose base weight is usually frozen (LoRA, in the PEFT module).
public protocol LinearAdapter: AnyObject {
    /// y += adapter(x); keeps what backward needs when `ctx.save`.
    func forward(_ x: Tensor, into y: Tensor, _ ctx: StepContext)
    /// Accumulates dx += ∂(adapter output)/∂x · dy (when dx is given) and the adapter's own gradients.
    func backward(_ dy: Tensor, _ ctx: StepContext, dx: Tensor?)
}

/// nn.Linear (or GPT-2's Conv1D, stored transposed): keeps its input only when its weight trains.
public final class LinearLayer {
    public let weight: Parameter
    public let bias: Parameter?
    public var adapter: LinearAdapter?
    var input: Tensor?

    public init(_ params: ParameterSet, _ name: String, inFeatures: Int, outFeatures: Int, bias: Bool, conv1D: Bool = false) {
        weight = params.add("\(name).weight", [outFeatures, inFeatures], transposedInCheckpoint: conv1D)
        self.bias = bias ? params.add("\(name).bias", [outFeatures], decays: false) : nil
    }

    /// The module path in the HF model (`model.layers.0.self_attn.q_proj`), as PEFT's target_modules match it.
    public var modulePath: String { String(weight.name.dropLast(".weight".count)) }
    public var inFeatures: Int { weight.value.shape[1] }
    public var outFeatures: Int { weight.value.shape[0] }

    func forward(_ x: Tensor, _ ctx: StepContext) -> Tensor {
        if ctx.save && weight.trainable { input = x }
        let y = Linear.forward(ctx.backend, x: x, weight: weight.value, bias: bias?.value)
        adapter?.forward(x, into: y, ctx)
        return y
    }

    /// Accumulates into `dx` (when given) and into the parameter gradients; frees the saved input.
    func backward(_ dy: Tensor, _ ctx: StepContext, dx: Tensor?) {
        adapter?.backward(dy, ctx, dx: dx)
        precondition(weight.grad == nil || input != nil, "\(weight.name): backward without a saved forward")
        // x is read only for the weight gradient; otherwise it just carries the shape.
        let x = input ?? dx ?? Tensor(zeros: [dy.count / outFeatures, inFeatures])
        Linear.backward(ctx.backend, dy: dy, x: x, weight: weight.value, dx: dx, dWeight: weight.grad, dBias: bias?.grad)
        input = nil
    }
}

/// LayerNorm or RMSNorm over the hidden size.
public final class NormLayer {
    public enum Kind: Sendable { case layerNorm, rmsNorm }
    let kind: Kind
    public let weight: Parameter
    public let bias: Parameter?
    let eps: Double
    var input: Tensor?, mean: Tensor?, rstd: Tensor?

    public init(_ params: ParameterSet, _ name: String, size: Int, kind: Kind, eps: Double) {
        self.kind = kind
        self.eps = eps
        weight = params.add("\(name).weight", [size], decays: false)
        bias = kind == .layerNorm ? params.add("\(name).bias", [size], decays: false) : nil
    }

    func forward(_ x: Tensor, _ ctx: StepContext) -> Tensor {
        let c = weight.value.count, rows = x.count / c
        let y = Tensor(zeros: x.shape), mean = Tensor(zeros: [rows]), rstd = Tensor(zeros: [rows])
        switch kind {
        case .layerNorm:
            LayerNorm.forward(ctx.backend, x: x.floats, weight: weight.value.floats, bias: bias?.value.floats, y: y.floats,
                              mean: mean.floats, rstd: rstd.floats, rows: rows, columns: c, eps: eps)
        case .rmsNorm:
            RMSNorm.forward(ctx.backend, x: x.floats, weight: weight.value.floats, y: y.floats, rstd: rstd.floats,
                            rows: rows, columns: c, eps: eps)
        }
        if ctx.save { input = x; self.mean = mean; self.rstd = rstd }
        return y
    }

    func backward(_ dy: Tensor, _ ctx: StepContext, dx: Tensor) {
        guard let x = input, let rstd, let mean else { preconditionFailure("\(weight.name): backward without a saved forward") }
        let c = weight.value.count, rows = x.count / c
        switch kind {
        case .layerNorm:
            LayerNorm.backward(ctx.backend, dy: dy.floats, x: x.floats, weight: weight.value.floats, mean: mean.floats, rstd: rstd.floats,
                               dx: dx.floats, dWeight: weight.grad?.floats, dBias: bias?.grad?.floats, rows: rows, columns: c)
        case .rmsNorm:
            RMSNorm.backward(ctx.backend, dy: dy.floats, x: x.floats, weight: weight.value.floats, rstd: rstd.floats,
                             dx: dx.floats, dWeight: weight.grad?.floats, rows: rows, columns: c)
        }
        input = nil; self.mean = nil; self.rstd = nil
    }
}

/// Causal self-attention with grouped-query heads, optional rotary embedding and window.
public final class SelfAttention {
    public enum Projections {
        case separate(q: LinearLayer, k: LinearLayer, v: LinearLayer)
        /// GPT-2's c_attn: one [3C, C] projection whose output splits into q, k, v.
        case fused(LinearLayer)
    }
    let projections: Projections
    public let output: LinearLayer
    let heads: Int, kvHeads: Int, headDim: Int
    let window: Int?
    let scale: Float
    let rotary: Bool
    /// The block this attention belongs to: its slot in a KVCache.
    var layer = 0
    var q: Tensor?, k: Tensor?, v: Tensor?, out: Tensor?, lse: Tensor?

    public init(projections: Projections, output: LinearLayer, heads: Int, kvHeads: Int, headDim: Int, window: Int?,
                scaleScores: Bool, rotary: Bool) {
        self.projections = projections
        self.output = output
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.window = window
        self.scale = scaleScores ? 1 / Float(headDim).squareRoot() : 1
        self.rotary = rotary
    }

    func shape(_ ctx: StepContext) -> AttentionShape {
        AttentionShape(batch: ctx.batch, seqLen: ctx.seqLen, queryHeads: heads, kvHeads: kvHeads, headDim: headDim)
    }

    func forward(_ x: Tensor, _ ctx: StepContext) -> Tensor {
        let n = ctx.tokens, qw = heads * headDim, kw = kvHeads * headDim
        let q: Tensor, k: Tensor, v: Tensor
        switch projections {
        case .separate(let pq, let pk, let pv):
            q = pq.forward(x, ctx); k = pk.forward(x, ctx); v = pv.forward(x, ctx)
        case .fused(let p):
            let qkv = p.forward(x, ctx)
            (q, k, v) = (Tensor(zeros: [n, qw]), Tensor(zeros: [n, kw]), Tensor(zeros: [n, kw]))
            for i in 0..<n {
                let row = qkv.floats + i * (qw + 2 * kw)
                (q.floats + i * qw).update(from: row, count: qw)
                (k.floats + i * kw).update(from: row + qw, count: kw)
                (v.floats + i * kw).update(from: row + qw + kw, count: kw)
            }
        }
        if rotary {
            let rope = RotaryTables(cos: ctx.ropeCos, sin: ctx.ropeSin, headDim: headDim)
            rope.apply(ctx.backend, q, tokens: n, heads: heads)
            rope.apply(ctx.backend, k, tokens: n, heads: kvHeads)
        }
        if let cache = ctx.kvCache { return output.forward(attendCached(q: q, k: k, v: v, cache: cache, ctx), ctx) }
        let out = Tensor(zeros: [n, qw]), lse = Tensor(zeros: [ctx.batch * heads * ctx.seqLen])
        Attention.forward(ctx.backend, shape: shape(ctx), mask: ctx.mask(window: window), scale: scale,
                          q: q.floats, k: k.floats, v: v.floats, out: out.floats, lse: lse.floats)
        if ctx.save { (self.q, self.k, self.v, self.out, self.lse) = (q, k, v, out, lse) }
        return output.forward(out, ctx)
    }

    func backward(_ dy: Tensor, _ ctx: StepContext, dx: Tensor) {
        guard let q, let k, let v, let out, let lse else { preconditionFailure("attention backward without a saved forward") }
        let n = ctx.tokens, qw = heads * headDim, kw = kvHeads * headDim
        let dOut = Tensor(zeros: [n, qw])
        output.backward(dy, ctx, dx: dOut)
        let dq = Tensor(zeros: [n, qw]), dk = Tensor(zeros: [n, kw]), dv = Tensor(zeros: [n, kw])
        Attention.backward(ctx.backend, shape: shape(ctx), mask: ctx.mask(window: window), scale: scale,
                           q: q.floats, k: k.floats, v: v.floats, out: out.floats, lse: lse.floats, dOut: dOut.floats,
                           dq: dq.floats, dk: dk.floats, dv: dv.floats)
        (self.q, self.k, self.v, self.out, self.lse) = (nil, nil, nil, nil, nil)
        if rotary {
            let rope = RotaryTables(cos: ctx.ropeCos, sin: ctx.ropeSin, headDim: headDim)
            rope.apply(ctx.backend, dq, tokens: n, heads: heads, inverse: true)
            rope.apply(ctx.backend, dk, tokens: n, heads: kvHeads, inverse: true)
        }
        switch projections {
        case .separate(let pq, let pk, let pv):
            pq.backward(dq, ctx, dx: dx); pk.backward(dk, ctx, dx: dx); pv.backward(dv, ctx, dx: dx)
        case .fused(let p):
            let dqkv = Tensor(zeros: [n, qw + 2 * kw])
            for i in 0..<n {
                let row = dqkv.floats + i * (qw + 2 * kw)
                row.update(from: dq.floats + i * qw, count: qw)
                (row + qw).update(from: dk.floats + i * kw, count: kw)
                (row + qw + kw).update(from: dv.floats + i * kw, count: kw)
            }
            p.backward(dqkv, ctx, dx: dx)
        }
    }
}

/// Precomputed cos/sin for this step's positions, applied by every rotary layer.
struct RotaryTables {
    let cos: [Float], sin: [Float], headDim: Int

    func apply(_ be: Backend, _ x: Tensor, tokens: Int, heads: Int, inverse: Bool = false) {
        RotaryEmbedding(headDim: headDim, theta: 1, maxPositionEmbeddings: 1)
            .apply(be, x.floats, tokens: tokens, heads: heads, cos: cos, sin: sin, inverse: inverse)
    }
}

/// The MLP: act(fc1·x) → fc2, or the gated form down(act(gate·x) ⊙ up·x).
public final class FeedForward {
    public enum Kind {
        case plain(fc1: LinearLayer, fc2: LinearLayer)
        case gated(gate: LinearLayer, up: LinearLayer, down: LinearLayer)
    }
    let kind: Kind
    let activation: Activation
    var pre: Tensor?, up: Tensor?

    public init(_ kind: Kind, activation: Activation) {
        self.kind = kind
        self.activation = activation
    }

    func forward(_ x: Tensor, _ ctx: StepContext) -> Tensor {
        let be = ctx.backend
        switch kind {
        case .plain(let fc1, let fc2):
            let h = fc1.forward(x, ctx)
            let a = activation.forward(be, h)
            if ctx.save { pre = h }
            return fc2.forward(a, ctx)
        case .gated(let gate, let upProj, let down):
            let g = gate.forward(x, ctx), u = upProj.forward(x, ctx)
            let a = Tensor(zeros: g.shape)
            GatedActivation.forward(be, activation, gate: g.floats, up: u.floats, y: a.floats, count: a.count)
            if ctx.save { pre = g; up = u }
            return down.forward(a, ctx)
        }
    }

    func backward(_ dy: Tensor, _ ctx: StepContext, dx: Tensor) {
        guard let h = pre else { preconditionFailure("MLP backward without a saved forward") }
        let be = ctx.backend
        switch kind {
        case .plain(let fc1, let fc2):
            let da = Tensor(zeros: h.shape)
            fc2.backward(dy, ctx, dx: da)
            let dh = Tensor(zeros: h.shape)
            activation.backward(be, dy: da.floats, x: h.floats, dx: dh.floats, count: h.count)
            fc1.backward(dh, ctx, dx: dx)
        case .gated(let gate, let upProj, let down):
            guard let u = up else { preconditionFailure("MLP backward without a saved forward") }
            let da = Tensor(zeros: h.shape)
            down.backward(dy, ctx, dx: da)
            let dg = Tensor(zeros: h.shape), du = Tensor(zeros: h.shape)
            GatedActivation.backward(be, activation, dy: da.floats, gate: h.floats, up: u.floats, dGate: dg.floats, dUp: du.floats, count: h.count)
            gate.backward(dg, ctx, dx: dx)
            upProj.backward(du, ctx, dx: dx)
        }
        pre = nil; up = nil
    }
}

/// One transformer block. Pre-norm: x + attn(norm1 x), then h + mlp(norm2 h). Post-norm (OPT-350m):
/// norm1(x + attn x), then norm2(h + mlp h).
public final class DecoderBlock {
    public let index: Int
    public let norm1: NormLayer, norm2: NormLayer
    public let attention: SelfAttention
    public let mlp: FeedForward
    let preNorm: Bool
    let dropout: Double

    public init(index: Int, norm1: NormLayer, attention: SelfAttention, norm2: NormLayer, mlp: FeedForward, preNorm: Bool, dropout: Double) {
        self.index = index
        self.norm1 = norm1
        self.norm2 = norm2
        self.attention = attention
        self.mlp = mlp
        self.preNorm = preNorm
        attention.layer = index
        self.dropout = dropout
    }

    var sites: (UInt64, UInt64) { (UInt64(index) * 2 + 1, UInt64(index) * 2 + 2) }

    public func forward(_ x: Tensor, _ ctx: StepContext) -> Tensor {
        let be = ctx.backend
        if preNorm {
            let a = attention.forward(norm1.forward(x, ctx), ctx)
            ctx.dropout(a, p: dropout, site: sites.0)
            Elementwise.add(be, a.floats, x.floats, count: a.count)
            let m = mlp.forward(norm2.forward(a, ctx), ctx)
            ctx.dropout(m, p: dropout, site: sites.1)
            Elementwise.add(be, m.floats, a.floats, count: m.count)
            return m
        }
        let a = attention.forward(x, ctx)
        ctx.dropout(a, p: dropout, site: sites.0)
        Elementwise.add(be, a.floats, x.floats, count: a.count)
        let h = norm1.forward(a, ctx)
        let m = mlp.forward(h, ctx)
        ctx.dropout(m, p: dropout, site: sites.1)
        Elementwise.add(be, m.floats, h.floats, count: m.count)
        return norm2.forward(m, ctx)
    }

    public func backward(_ dy: Tensor, _ ctx: StepContext) -> Tensor {
        let be = ctx.backend
        if preNorm {
            let dhn = Tensor(zeros: dy.shape)
            mlp.backward(ctx.dropoutBackward(dy, p: dropout, site: sites.1), ctx, dx: dhn)
            let dh = dy.copy()
            norm2.backward(dhn, ctx, dx: dh)
            let dxn = Tensor(zeros: dy.shape)
            attention.backward(ctx.dropoutBackward(dh, p: dropout, site: sites.0), ctx, dx: dxn)
            norm1.backward(dxn, ctx, dx: dh)
            return dh
        }
        let ds2 = Tensor(zeros: dy.shape)
        norm2.backward(dy, ctx, dx: ds2)
        let dh = ds2.copy()
        mlp.backward(ctx.dropoutBackward(ds2, p: dropout, site: sites.1), ctx, dx: dh)
        let ds1 = Tensor(zeros: dy.shape)
        norm1.backward(dh, ctx, dx: ds1)
        let dx = ds1.copy()
        attention.backward(ctx.dropoutBackward(ds1, p: dropout, site: sites.0), ctx, dx: dx)
        _ = be
        return dx
    }
}
