/// Llama (and Mistral, Qwen2: the same graph with a sliding window or q/k/v biases): token embedding, pre-norm
/// blocks of RMSNorm → rotary GQA attention → RMSNorm → SwiGLU MLP, final RMSNorm, LM head (tied in SmolLM2).
public enum Llama {
    public static func architecture(_ c: DecoderConfig, _ p: ParameterSet) -> Architecture {
        let embed = p.add("model.embed_tokens.weight", [c.vocabSize, c.hiddenSize])
        let blocks = (0..<c.layers).map { i -> DecoderBlock in
            let pre = "model.layers.\(i)"
            let q = LinearLayer(p, "\(pre).self_attn.q_proj", inFeatures: c.hiddenSize, outFeatures: c.heads * c.headDim, bias: c.attentionBias)
            let k = LinearLayer(p, "\(pre).self_attn.k_proj", inFeatures: c.hiddenSize, outFeatures: c.kvHeads * c.headDim, bias: c.attentionBias)
            let v = LinearLayer(p, "\(pre).self_attn.v_proj", inFeatures: c.hiddenSize, outFeatures: c.kvHeads * c.headDim, bias: c.attentionBias)
            let o = LinearLayer(p, "\(pre).self_attn.o_proj", inFeatures: c.heads * c.headDim, outFeatures: c.hiddenSize, bias: c.outputBias)
            let gate = LinearLayer(p, "\(pre).mlp.gate_proj", inFeatures: c.hiddenSize, outFeatures: c.intermediateSize, bias: c.mlpBias)
            let up = LinearLayer(p, "\(pre).mlp.up_proj", inFeatures: c.hiddenSize, outFeatures: c.intermediateSize, bias: c.mlpBias)
            let down = LinearLayer(p, "\(pre).mlp.down_proj", inFeatures: c.intermediateSize, outFeatures: c.hiddenSize, bias: c.mlpBias)
            return DecoderBlock(
                index: i,
                norm1: NormLayer(p, "\(pre).input_layernorm", size: c.hiddenSize, kind: .rmsNorm, eps: c.normEps),
                attention: SelfAttention(projections: .separate(q: q, k: k, v: v), output: o, heads: c.heads, kvHeads: c.kvHeads,
                                         headDim: c.headDim, window: c.windows[i], scaleScores: true, rotary: true),
                norm2: NormLayer(p, "\(pre).post_attention_layernorm", size: c.hiddenSize, kind: .rmsNorm, eps: c.normEps),
                mlp: FeedForward(.gated(gate: gate, up: up, down: down), activation: c.activation),
                preNorm: true, dropout: 0)
        }
        let norm = NormLayer(p, "model.norm", size: c.hiddenSize, kind: .rmsNorm, eps: c.normEps)
        let head = c.tieWordEmbeddings ? nil : p.add("lm_head.weight", [c.vocabSize, c.hiddenSize])
        return Architecture(tokenEmbedding: embed, finalNorm: norm, head: head, blocks: blocks)
    }
}
