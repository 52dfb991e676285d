import Foundation
import TensorCore

/// Incremental decoding: a prefill of the prompt, then one token at a time, each attending to the keys and values
/// a `KVCache` holds instead of recomputing the prefix. Every projection still goes through `LinearLayer.forward`
/// (adapters included) with nothing saved for backward.
extension CausalLM {
    /// An empty cache sized for this model.
    public func makeKVCache() -> KVCache {
        let width = architecture.blocks.first.map { $0.attention.kvHeads * $0.attention.headDim } ?? 0
        return KVCache(layers: architecture.blocks.count, width: width)
    }

    /// Positions the model can address: the learned position table's rows (GPT-2, OPT, GPT-Neo); nil for rotary
    /// models, whose positions are unbounded.
    public var maxDecodePositions: Int? {
        architecture.positionEmbedding.map { $0.value.shape[0] - architecture.positionOffset }
    }

    /// Runs `ids` as the positions after those in `cache`, stores their keys and values, and returns the logits of
    /// the last one. Dynamic rope scaling uses the positions seen so far, as transformers' cached generation does.
    public func decode(_ ids: [Int32], cache: KVCache) -> [Float] {
        guard !ids.isEmpty else { return [] }
        let past = cache.count
        let input = ModelInput(batch: 1, seqLen: ids.count, inputIds: ids, positions: (past..<(past + ids.count)).map { Int32($0) })
        let ctx = context(input, training: false, save: false, dropoutSeed: 0)
        ctx.kvCache = cache
        let h = hidden(input, ctx, blockInputs: nil)
        cache.commit(ids)
        let last = h.rows((ids.count - 1)..<ids.count)
        return Linear.forward(backend, x: last, weight: headWeight.value, bias: nil).toArray()
    }
}

extension SelfAttention {
    /// Attention of this step's queries (at positions cache.count ..< cache.count + n) over every cached position
    /// and their own, after appending their keys and values to the cache. A first prefill uses the tiled kernel
    /// training uses; later steps compute the few query rows against the whole cache directly.
    func attendCached(q: Tensor, k: Tensor, v: Tensor, cache: KVCache, _ ctx: StepContext) -> Tensor {
        let n = ctx.tokens, past = cache.count, qw = heads * headDim, kw = kvHeads * headDim
        cache.append(layer: layer, keys: k.floats, values: v.floats, rows: n)
        let out = Tensor(zeros: [n, qw])
        if past == 0 {
            let lse = Tensor(zeros: [heads * n])
            Attention.forward(ctx.backend, shape: shape(ctx), mask: ctx.mask(window: window), scale: scale,
                              q: q.floats, k: k.floats, v: v.floats, out: out.floats, lse: lse.floats)
            return out
        }
        let total = past + n, group = heads / kvHeads, be = ctx.backend, d = headDim, scale = self.scale, window = self.window
        cache.keys[layer].withUnsafeBufferPointer { kp in
            cache.values[layer].withUnsafeBufferPointer { vp in
                guard let keys = kp.baseAddress, let values = vp.baseAddress else { return }
                be.withSingleThreadedBLAS {
                    be.parallelFor(heads) { h in
                        let kh = h / group
                        let scores = UnsafeMutablePointer<Float>.allocate(capacity: n * total)
                        defer { scores.deallocate() }
                        be.gemm(transA: false, transB: true, m: n, n: total, k: d, alpha: scale, a: q.floats + h * d, lda: qw,
                                b: keys + kh * d, ldb: kw, beta: 0, c: scores, ldc: total)
                        for i in 0..<n {
                            let t = past + i, lo = window.map { max(0, t - $0 + 1) } ?? 0, row = scores + i * total
                            var m = -Float.infinity
                            for s in lo...t { m = max(m, row[s]) }
                            var sum: Float = 0
                            for s in 0..<total {
                                if s < lo || s > t { row[s] = 0; continue }
                                row[s] = Foundation.exp(row[s] - m)
                                sum += row[s]
                            }
                            let inv = 1 / sum
                            for s in lo...t { row[s] *= inv }
                        }
                        be.gemm(transA: false, transB: false, m: n, n: d, k: total, alpha: 1, a: scores, lda: total,
                                b: values + kh * d, ldb: kw, beta: 0, c: out.floats + h * d, ldc: qw)
                    }
                }
            }
        }
        return out
    }
}
