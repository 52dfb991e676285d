/// GPT-2: token + learned position embeddings, pre-LN blocks with a fused c_attn (Conv1D, stored [in, out]),
/// gelu_new MLP, final LayerNorm, LM head tied to wte.
public enum GPT2 {
    public static func architecture(_ c: DecoderConfig, _ p: ParameterSet) -> Architecture {
        let C = c.hiddenSize
        let wte = p.add("transformer.wte.weight", [c.vocabSize, C])
        let wpe = p.add("transformer.wpe.weight", [c.maxPositions, C])
        let blocks = (0..<c.layers).map { i -> DecoderBlock in
            let pre = "transformer.h.\(i)"
            let ln1 = NormLayer(p, "\(pre).ln_1", size: C, kind: .layerNorm, eps: c.normEps)
            let cAttn = LinearLayer(p, "\(pre).attn.c_attn", inFeatures: C, outFeatures: 3 * C, bias: true, conv1D: true)
            let cProj = LinearLayer(p, "\(pre).attn.c_proj", inFeatures: C, outFeatures: C, bias: true, conv1D: true)
            let ln2 = NormLayer(p, "\(pre).ln_2", size: C, kind: .layerNorm, eps: c.normEps)
            let fc = LinearLayer(p, "\(pre).mlp.c_fc", inFeatures: C, outFeatures: c.intermediateSize, bias: true, conv1D: true)
            let proj = LinearLayer(p, "\(pre).mlp.c_proj", inFeatures: c.intermediateSize, outFeatures: C, bias: true, conv1D: true)
            return DecoderBlock(
                index: i, norm1: ln1,
                attention: SelfAttention(projections: .fused(cAttn), output: cProj, heads: c.heads, kvHeads: c.heads, headDim: c.headDim,
                                         window: nil, scaleScores: c.scaleScores, rotary: false),
                norm2: ln2, mlp: FeedForward(.plain(fc1: fc, fc2: proj), activation: c.activation), preNorm: true, dropout: c.hiddenDropout)
        }
        let lnf = NormLayer(p, "transformer.ln_f", size: C, kind: .layerNorm, eps: c.normEps)
        let head = c.tieWordEmbeddings ? nil : p.add("lm_head.weight", [c.vocabSize, C])
        return Architecture(tokenEmbedding: wte, positionEmbedding: wpe, finalNorm: lnf, head: head, blocks: blocks)
    }
}
