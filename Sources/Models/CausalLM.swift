import TensorCore

/// One batch as the model sees it: token-major [batch × seqLen] arrays, labels unshifted (HF convention:
/// position t is trained to predict labels[t + 1]).
public struct ModelInput: Sendable {
    public var batch: Int, seqLen: Int
    public var inputIds: [Int32]
    public var labels: [Int32]?
    /// false on padding.
    public var attentionMask: [Bool]?
    public var positions: [Int32]
    /// Packed rows: the example each token belongs to.
    public var segmentIds: [Int32]?

    public init(batch: Int, seqLen: Int, inputIds: [Int32], labels: [Int32]? = nil, attentionMask: [Bool]? = nil,
                positions: [Int32]? = nil, segmentIds: [Int32]? = nil) {
        self.batch = batch
        self.seqLen = seqLen
        self.inputIds = inputIds
        self.labels = labels
        self.attentionMask = attentionMask
        self.positions = positions ?? (0..<(batch * seqLen)).map { Int32($0 % seqLen) }
        self.segmentIds = segmentIds
    }

    /// Targets aligned with positions: labels shifted left by one inside each row, the last one ignored.
    public var shiftedLabels: [Int32] {
        guard let labels else { return [] }
        var out = [Int32](repeating: LinearCrossEntropy.ignoreIndex, count: labels.count)
        for b in 0..<batch { for t in 0..<(seqLen - 1) { out[b * seqLen + t] = labels[b * seqLen + t + 1] } }
        return out
    }
}

/// Names and wiring a family gives the shared decoder: where its embeddings, norms and head live in the HF
/// checkpoint, and how a block is built.
public struct Architecture {
    public var tokenEmbedding: Parameter
    public var positionEmbedding: Parameter?
    public var positionOffset = 0
    public var projectIn: LinearLayer?
    public var projectOut: LinearLayer?
    public var finalNorm: NormLayer?
    /// nil when tied to the token embedding.
    public var head: Parameter?
    public var blocks: [DecoderBlock]
    /// OPT derives positions from the attention mask (cumsum − 1) when rows are not packed.
    public var positionsFromMask = false
}

/// A decoder-only causal language model with a hand-written backward pass: forward keeps what backward needs,
/// backward walks the blocks in reverse and frees each block's activations as it goes. With gradient
/// checkpointing only block inputs are kept and each block is recomputed just before its backward.
public final class CausalLM {
    public private(set) var config: DecoderConfig
    public let params: ParameterSet
    public private(set) var architecture: Architecture
    public let backend: Backend
    public var gradientCheckpointing = false
    /// Rows of logits made at once by the fused loss.
    public var lossChunkRows = LinearCrossEntropy.defaultChunkRows
    /// NEFTune: uniform noise of magnitude alpha/√(T·d) on the token embeddings, in training only.
    public var neftuneNoiseAlpha: Double?
    let rotary: RotaryEmbedding?

    public init(config: DecoderConfig, backend: Backend) {
        self.config = config
        self.backend = backend
        let params = ParameterSet()
        self.params = params
        switch config.family {
        case .llama, .mistral, .qwen2: architecture = Llama.architecture(config, params)
        case .gpt2: architecture = GPT2.architecture(config, params)
        case .opt: architecture = OPT.architecture(config, params)
        case .gptNeo: architecture = GPTNeo.architecture(config, params)
        }
        rotary = config.family.usesRotary
            ? RotaryEmbedding(headDim: config.headDim, theta: config.ropeTheta, scaling: config.ropeScaling,
                              maxPositionEmbeddings: config.maxPositions)
            : nil
    }

    /// Every linear layer of the blocks (not the LM head), for adapters to wrap.
    public var linearLayers: [LinearLayer] {
        architecture.blocks.flatMap { b -> [LinearLayer] in
            var out: [LinearLayer] = []
            switch b.attention.projections {
            case .separate(let q, let k, let v): out += [q, k, v]
            case .fused(let p): out.append(p)
            }
            out.append(b.attention.output)
            switch b.mlp.kind {
            case .plain(let fc1, let fc2): out += [fc1, fc2]
            case .gated(let gate, let up, let down): out += [gate, up, down]
            }
            return out
        } + [architecture.projectIn, architecture.projectOut].compactMap { $0 }
    }

    /// Grows the vocabulary to `size` rows (rounded up to `multipleOf`) for added tokens. New rows are the mean of
    /// the existing embeddings (transformers' `mean_resizing` samples around that mean with the old covariance;
    /// sftrun takes the mean itself, so the result is deterministic). An untied LM head grows the same way.
    public func resizeTokenEmbeddings(to size: Int, multipleOf: Int? = nil) {
        var n = max(size, config.vocabSize)
        if let m = multipleOf, m > 1 { n = (n + m - 1) / m * m }
        guard n != config.vocabSize else { return }
        for p in [architecture.tokenEmbedding, architecture.head].compactMap({ $0 }) {
            let old = p.value, rows = old.shape[0], cols = old.shape[1]
            let grown = Tensor(zeros: [n, cols])
            old.widen(into: grown.floats, from: 0, count: rows * cols)
            var mean = [Double](repeating: 0, count: cols)
            for r in 0..<rows { for c in 0..<cols { mean[c] += Double(grown.floats[r * cols + c]) } }
            for r in rows..<n { for c in 0..<cols { grown.floats[r * cols + c] = Float(mean[c] / Double(rows)) } }
            let trains = p.trainable
            p.value = grown
            if trains { p.setTrainable(false); p.setTrainable(true) }
        }
        config.vocabSize = n
        _ = config.raw.setValue(.int(n), at: ["vocab_size"])
    }

    /// Stores frozen matrices (not norms or biases) in bf16/f16, widened block by block when used.
    public func storeFrozenMatrices(as type: ElementType) {
        guard type != .float32 else { return }
        for p in params.all where !p.trainable && p.value.shape.count == 2 && p.value.elementType == .float32 {
            let v = p.value.toArray()
            let bits = v.map { type == .bfloat16 ? Self.bf16($0) : Float16($0).bitPattern }
            p.value = Tensor(shape: p.value.shape, bits: bits, type: type)
        }
    }

    static func bf16(_ f: Float) -> UInt16 {
        if f.isNaN { return 0xFFFF }
        let u = f.bitPattern
        return UInt16(truncatingIfNeeded: (u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16)
    }

    /// The output projection's weight (the token embedding when tied).
    public var headWeight: Parameter { architecture.head ?? architecture.tokenEmbedding }

    /// Gives a tied model its own output weight `lm_head.weight`, a float32 copy of the token embedding, and marks
    /// config.json `tie_word_embeddings: false`. peft's modules_to_save does this on a tied model (it trains a
    /// deep copy of the named module, so head and embedding part), and a merged model then saves both. Returns the head.
    @discardableResult
    public func untieHead() -> Parameter {
        if let head = architecture.head { return head }
        let embedding = architecture.tokenEmbedding
        let head = params.add("lm_head.weight", embedding.value.shape)
        head.value = Tensor(shape: embedding.value.shape, values: embedding.value.toArray())
        architecture.head = head
        config.tieWordEmbeddings = false
        _ = config.raw.setValue(.bool(false), at: ["tie_word_embeddings"])
        return head
    }

    /// Training step: loss summed over labelled tokens, with gradients of loss·gradScale accumulated into every
    /// trainable parameter (gradScale = 1 / loss tokens of the whole optimizer step gives TRL's mean).
    public func forwardBackward(_ input: ModelInput, gradScale: Float, dropoutSeed: UInt64 = 0) -> LinearCrossEntropy.Result {
        run(input, training: true, gradScale: gradScale, dropoutSeed: dropoutSeed).0
    }

    /// Evaluation: summed loss and label count, no dropout, nothing kept.
    public func loss(_ input: ModelInput) -> LinearCrossEntropy.Result {
        run(input, training: false, gradScale: nil, dropoutSeed: 0).0
    }

    /// Full logits [tokens, vocab] (tests, generation); never used in training.
    public func logits(_ input: ModelInput) -> Tensor {
        let ctx = context(input, training: false, save: false, dropoutSeed: 0)
        let h = hidden(input, ctx, blockInputs: nil)
        return Linear.forward(backend, x: h, weight: headWeight.value, bias: nil)
    }

    /// Logits of the last position of one unpadded sequence, recomputing the whole prefix: the oracle the cached
    /// path (`decode(_:cache:)`, which generation uses) is tested against.
    public func nextTokenLogits(_ ids: [Int32]) -> [Float] {
        let input = ModelInput(batch: 1, seqLen: ids.count, inputIds: ids)
        let ctx = context(input, training: false, save: false, dropoutSeed: 0)
        let h = hidden(input, ctx, blockInputs: nil)
        let last = h.rows((ids.count - 1)..<ids.count)
        return Linear.forward(backend, x: last, weight: headWeight.value, bias: nil).toArray()
    }

    func context(_ input: ModelInput, training: Bool, save: Bool, dropoutSeed: UInt64) -> StepContext {
        let n = input.batch * input.seqLen
        precondition(input.inputIds.count == n && input.positions.count == n, "ModelInput arrays must hold batch × seqLen values")
        let ctx = StepContext(backend: backend, batch: input.batch, seqLen: input.seqLen, positions: input.positions,
                              keyValid: input.attentionMask, segmentIds: input.segmentIds, training: training, save: save,
                              dropoutSeed: dropoutSeed)
        if let rotary {
            var pos = input.positions
            (ctx.ropeCos, ctx.ropeSin) = pos.withUnsafeMutableBufferPointer { rotary.tables(positions: $0.baseAddress!, count: n) }
        }
        return ctx
    }

    /// Positions for learned position embeddings, OPT's mask-derived rule included.
    func embeddingPositions(_ input: ModelInput) -> [Int32] {
        guard architecture.positionsFromMask, input.segmentIds == nil, let mask = input.attentionMask else { return input.positions }
        var out = [Int32](repeating: 0, count: mask.count)
        for b in 0..<input.batch {
            var running: Int32 = 0
            for t in 0..<input.seqLen {
                let i = b * input.seqLen + t
                if mask[i] { running += 1 }
                out[i] = mask[i] ? running - 1 : -1
            }
        }
        return out
    }

    /// Embeddings and blocks up to the last hidden state; `blockInputs` collects what checkpointing keeps.
    func hidden(_ input: ModelInput, _ ctx: StepContext, blockInputs: UnsafeMutablePointer<[Tensor]>?) -> Tensor {
        let arch = architecture, n = ctx.tokens
        let table = arch.tokenEmbedding.value
        var x = Tensor(zeros: [n, table.shape[1]])
        var ids = input.inputIds
        ids.withUnsafeMutableBufferPointer { Embedding.forward(backend, ids: $0.baseAddress!, count: n, table: table, out: x.floats) }
        if ctx.training, let alpha = neftuneNoiseAlpha, alpha > 0 {
            let magnitude = alpha / Double(input.seqLen * table.shape[1]).squareRoot()
            var rng = SplitMix64(seed: ctx.dropoutSeed ^ 0x4E45_4654_554E_45)
            for i in 0..<x.count { x.floats[i] += Float((rng.nextUnit() * 2 - 1) * magnitude) }
        }
        if let p = arch.projectIn { x = p.forward(x, ctx) }
        if let pe = arch.positionEmbedding {
            precondition(pe.value.shape[1] == x.shape[1], "position embeddings are \(pe.value.shape[1]) wide, hidden is \(x.shape[1])")
            let pos = Tensor(zeros: x.shape)
            var p = embeddingPositions(input)
            p.withUnsafeMutableBufferPointer {
                Embedding.forward(backend, ids: $0.baseAddress!, count: n, table: pe.value, offset: arch.positionOffset, out: pos.floats)
            }
            Elementwise.add(backend, x.floats, pos.floats, count: x.count)
        }
        ctx.dropout(x, p: config.embeddingDropout, site: 0)
        let keep = ctx.save
        for block in arch.blocks {
            if let blockInputs {
                blockInputs.pointee.append(x)
                ctx.save = false
            }
            x = block.forward(x, ctx)
        }
        ctx.save = keep
        if let norm = arch.finalNorm { x = norm.forward(x, ctx) }
        if let p = arch.projectOut { x = p.forward(x, ctx) }
        return x
    }

    func run(_ input: ModelInput, training: Bool, gradScale: Float?, dropoutSeed: UInt64) -> (LinearCrossEntropy.Result, Void) {
        let train = gradScale != nil
        let ctx = context(input, training: training, save: train, dropoutSeed: dropoutSeed)
        var blockInputs: [Tensor] = []
        let h = withUnsafeMutablePointer(to: &blockInputs) { ptr in
            hidden(input, ctx, blockInputs: train && gradientCheckpointing ? ptr : nil)
        }
        var targets = input.shiftedLabels
        precondition(targets.count == h.count / h.shape[1], "labels are required for the loss")
        let dh = train ? Tensor(zeros: h.shape) : nil
        let result = targets.withUnsafeMutableBufferPointer {
            LinearCrossEntropy.run(backend, hidden: h, weight: headWeight.value, labels: $0.baseAddress!, chunkRows: lossChunkRows,
                                   gradScale: gradScale, dHidden: dh, dWeight: headWeight.grad)
        }
        guard var d = dh else { return (result, ()) }
        let arch = architecture
        if let p = arch.projectOut { d = backwardLinear(p, d, ctx) }
        if let norm = arch.finalNorm {
            let dx = Tensor(zeros: d.shape)
            norm.backward(d, ctx, dx: dx)
            d = dx
        }
        for (i, block) in arch.blocks.enumerated().reversed() {
            if gradientCheckpointing {
                ctx.save = true
                _ = block.forward(blockInputs[i], ctx)
                blockInputs[i] = Tensor(zeros: [0])
            }
            d = block.backward(d, ctx)
        }
        d = ctx.dropoutBackward(d, p: config.embeddingDropout, site: 0)
        let n = ctx.tokens
        if let pe = arch.positionEmbedding, let g = pe.grad {
            var p = embeddingPositions(input)
            p.withUnsafeMutableBufferPointer {
                Embedding.backward(backend, ids: $0.baseAddress!, count: n, dOut: d.floats, dTable: g.floats, columns: g.shape[1],
                                   offset: arch.positionOffset)
            }
        }
        if let p = arch.projectIn { d = backwardLinear(p, d, ctx) }
        if let g = arch.tokenEmbedding.grad {
            var ids = input.inputIds
            ids.withUnsafeMutableBufferPointer {
                Embedding.backward(backend, ids: $0.baseAddress!, count: n, dOut: d.floats, dTable: g.floats, columns: g.shape[1])
            }
        }
        return (result, ())
    }

    func backwardLinear(_ p: LinearLayer, _ dy: Tensor, _ ctx: StepContext) -> Tensor {
        let dx = Tensor(zeros: [dy.count / dy.shape.last! , p.weight.value.shape[1]])
        p.backward(dy, ctx, dx: dx)
        return dx
    }
}

/// Small seeded generator for noise and shuffles (splitmix64): the same seed gives the same stream everywhere.
public struct SplitMix64: Sendable {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1p-53 }

    /// Fisher–Yates shuffle of 0..<n.
    public mutating func permutation(_ n: Int) -> [Int] {
        var a = Array(0..<n)
        if n < 2 { return a }
        for i in stride(from: n - 1, to: 0, by: -1) { a.swapAt(i, Int(next() % UInt64(i + 1))) }
        return a
    }
}
