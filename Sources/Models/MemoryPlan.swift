import TensorCore

/// Memory a training step needs, sized from the config and the batch shape before anything is allocated:
/// weights, gradients, optimizer state, the activations backward keeps, and the largest transient buffers.
/// `sftrun plan` prints it; a test checks it against the tracked peak of a real step.
public struct MemoryPlan: Sendable, Equatable {
    public var weightBytes: Int
    public var gradientBytes: Int
    public var optimizerBytes: Int
    public var activationBytes: Int
    public var transientBytes: Int
    public var parameters: Int
    public var trainableParameters: Int

    public var peakBytes: Int { weightBytes + gradientBytes + optimizerBytes + activationBytes + transientBytes }

    /// Floats kept per token by one block for backward (see `DecoderBlock`): block input, normed input, q, k, v,
    /// attention output, log-sum-exp, residual, normed residual, and the MLP's pre-activations and product.
    public static func savedFloatsPerToken(_ c: DecoderConfig) -> Int {
        let C = c.hiddenSize, A = c.heads * c.headDim, K = c.kvHeads * c.headDim, I = c.intermediateSize
        let norms = 2 * 2  // mean/rstd of two norms
        let mlp = c.family.isGated ? 3 * I : 2 * I
        return 4 * C + 2 * A + 2 * K + c.heads + mlp + norms
    }

    /// `weightBytes` overrides float32 storage (quantized or 16-bit frozen weights).
    /// `trainable` parameters get float32 gradients and (AdamW) two moments each; `optimizerStates` per parameter.
    public static func plan(_ c: DecoderConfig, parameters: Int, trainable: Int, batch: Int, seqLen: Int,
                            checkpointing: Bool, optimizerStates: Int = 2, chunkRows: Int = LinearCrossEntropy.defaultChunkRows,
                            weightBytes: Int? = nil) -> MemoryPlan {
        let n = batch * seqLen, f = 4
        let perBlock = savedFloatsPerToken(c) * n * f
        let hidden = n * c.hiddenSize * f
        let activations = checkpointing ? c.layers * hidden + perBlock : c.layers * perBlock
        let embeddingOut = n * (c.wordEmbedProjDim ?? c.hiddenSize) * f
        // Largest short-lived buffers: the loss chunk (logits + its gradient input) and one block's backward temporaries.
        let lossChunk = min(chunkRows, n) * c.vocabSize * f + 2 * embeddingOut
        let blockBackward = n * (3 * c.intermediateSize + 3 * c.hiddenSize) * f
        return MemoryPlan(weightBytes: weightBytes ?? parameters * f, gradientBytes: trainable * f, optimizerBytes: trainable * f * optimizerStates,
                          activationBytes: activations, transientBytes: max(lossChunk, blockBackward) + embeddingOut,
                          parameters: parameters, trainableParameters: trainable)
    }

    public var summary: String {
        func gb(_ b: Int) -> String { b >= 1_000_000_000 ? String(format: "%.2f GB", Double(b) / 1e9) : String(format: "%.1f MB", Double(b) / 1e6) }
        return """
        parameters: \(parameters) (\(trainableParameters) trainable, \(parameters - trainableParameters) frozen)
        memory plan: weights \(gb(weightBytes)), gradients \(gb(gradientBytes)), optimizer \(gb(optimizerBytes)), \
        activations \(gb(activationBytes)), transient \(gb(transientBytes)); peak ≈ \(gb(peakBytes))
        """
    }
}
