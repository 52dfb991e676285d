/// OPT: token embedding (optionally narrower, projected in and out: OPT-350m), learned positions with an
/// offset of 2 derived from the attention mask, ReLU MLP; pre-LN blocks, or post-LN when
/// `do_layer_norm_before` is false (350m). LM head tied to embed_tokens.
public enum OPT {
    public static func architecture(_ c: DecoderConfig, _ p: ParameterSet) -> Architecture {
        let C = c.hiddenSize, E = c.wordEmbedProjDim ?? C
        let embed = p.add("model.decoder.embed_tokens.weight", [c.vocabSize, E])
        let positions = p.add("model.decoder.embed_positions.weight", [c.maxPositions + 2, C])
        let projectOut = c.wordEmbedProjDim == nil ? nil : LinearLayer(p, "model.decoder.project_out", inFeatures: C, outFeatures: E, bias: false)
        let projectIn = c.wordEmbedProjDim == nil ? nil : LinearLayer(p, "model.decoder.project_in", inFeatures: E, outFeatures: C, bias: false)
        let finalNorm = c.finalNorm ? NormLayer(p, "model.decoder.final_layer_norm", size: C, kind: .layerNorm, eps: c.normEps) : nil
        let blocks = (0..<c.layers).map { i -> DecoderBlock in
            let pre = "model.decoder.layers.\(i)"
            let q = LinearLayer(p, "\(pre).self_attn.q_proj", inFeatures: C, outFeatures: C, bias: c.attentionBias)
            let k = LinearLayer(p, "\(pre).self_attn.k_proj", inFeatures: C, outFeatures: C, bias: c.attentionBias)
            let v = LinearLayer(p, "\(pre).self_attn.v_proj", inFeatures: C, outFeatures: C, bias: c.attentionBias)
            let o = LinearLayer(p, "\(pre).self_attn.out_proj", inFeatures: C, outFeatures: C, bias: c.outputBias)
            let ln1 = NormLayer(p, "\(pre).self_attn_layer_norm", size: C, kind: .layerNorm, eps: c.normEps)
            let fc1 = LinearLayer(p, "\(pre).fc1", inFeatures: C, outFeatures: c.intermediateSize, bias: c.mlpBias)
            let fc2 = LinearLayer(p, "\(pre).fc2", inFeatures: c.intermediateSize, outFeatures: C, bias: c.mlpBias)
            let ln2 = NormLayer(p, "\(pre).final_layer_norm", size: C, kind: .layerNorm, eps: c.normEps)
            return DecoderBlock(
                index: i, norm1: ln1,
                attention: SelfAttention(projections: .separate(q: q, k: k, v: v), output: o, heads: c.heads, kvHeads: c.heads,
                                         headDim: c.headDim, window: nil, scaleScores: true, rotary: false),
                norm2: ln2, mlp: FeedForward(.plain(fc1: fc1, fc2: fc2), activation: c.activation), preNorm: c.preNorm,
                dropout: c.hiddenDropout)
        }
        let head = c.tieWordEmbeddings ? nil : p.add("lm_head.weight", [c.vocabSize, E])
        return Architecture(tokenEmbedding: embed, positionEmbedding: positions, positionOffset: 2, projectIn: projectIn,
                            projectOut: projectOut, finalNorm: finalNorm, head: head, blocks: blocks, positionsFromMask: true)
    }
}
