/// GPT-Neo: GPT-2's layout with separate bias-free q/k/v projections, alternating global and local (windowed)
/// attention layers, and unscaled attention scores. LM head tied to wte.
public enum GPTNeo {
    public static func architecture(_ c: DecoderConfig, _ p: ParameterSet) -> Architecture {
        let C = c.hiddenSize
        let wte = p.add("transformer.wte.weight", [c.vocabSize, C])
        let wpe = p.add("transformer.wpe.weight", [c.maxPositions, C])
        let blocks = (0..<c.layers).map { i -> DecoderBlock in
            let pre = "transformer.h.\(i)"
            let q = LinearLayer(p, "\(pre).attn.attention.q_proj", inFeatures: C, outFeatures: C, bias: false)
            let k = LinearLayer(p, "\(pre).attn.attention.k_proj", inFeatures: C, outFeatures: C, bias: false)
            let v = LinearLayer(p, "\(pre).attn.attention.v_proj", inFeatures: C, outFeatures: C, bias: false)
            let o = LinearLayer(p, "\(pre).attn.attention.out_proj", inFeatures: C, outFeatures: C, bias: true)
            let fc = LinearLayer(p, "\(pre).mlp.c_fc", inFeatures: C, outFeatures: c.intermediateSize, bias: true)
            let proj = LinearLayer(p, "\(pre).mlp.c_proj", inFeatures: c.intermediateSize, outFeatures: C, bias: true)
            return DecoderBlock(
                index: i,
                norm1: NormLayer(p, "\(pre).ln_1", size: C, kind: .layerNorm, eps: c.normEps),
                attention: SelfAttention(projections: .separate(q: q, k: k, v: v), output: o, heads: c.heads, kvHeads: c.heads,
                                         headDim: c.headDim, window: c.windows[i], scaleScores: false, rotary: false),
                norm2: NormLayer(p, "\(pre).ln_2", size: C, kind: .layerNorm, eps: c.normEps),
                mlp: FeedForward(.plain(fc1: fc, fc2: proj), activation: c.activation), preNorm: true, dropout: c.hiddenDropout)
        }
        let lnf = NormLayer(p, "transformer.ln_f", size: C, kind: .layerNorm, eps: c.normEps)
        let head = c.tieWordEmbeddings ? nil : p.add("lm_head.weight", [c.vocabSize, C])
        return Architecture(tokenEmbedding: wte, positionEmbedding: wpe, finalNorm: lnf, head: head, blocks: blocks)
    }
}
