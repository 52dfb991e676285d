import COpenBLAS
import Foundation

/// Micro-benchmarks of the kernels the training step spends its time in (`sftrun bench kernels`, release build).
public enum KernelBenchmarks {
    /// Median seconds of `repeats` runs after one warm-up.
    public static func median(_ repeats: Int, _ body: () -> Void) -> Double {
        body()
        var times: [Double] = []
        for _ in 0..<repeats {
            let t = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9)
        }
        return times.sorted()[times.count / 2]
    }

    public struct GemmResult: Sendable { public var label: String; public var backendGFLOPS: Double; public var rawGFLOPS: Double }

    /// y = x·Wᵀ, dx = dy·W and dW = dyᵀ·x of a linear layer [tokens × in] → [tokens × out], through `Linear`
    /// (the backend) and through cblas_sgemm called directly on the same buffers.
    public static func gemm(_ be: Backend, tokens: Int, inFeatures: Int, outFeatures: Int, repeats: Int = 5) -> [GemmResult] {
        var r = SeedFill(seed: 1)
        let x = r.tensor([tokens, inFeatures]), w = r.tensor([outFeatures, inFeatures]), dy = r.tensor([tokens, outFeatures])
        let y = Tensor(zeros: [tokens, outFeatures]), dx = Tensor(zeros: x.shape), dw = Tensor(zeros: w.shape)
        let flops = 2.0 * Double(tokens * inFeatures * outFeatures) / 1e9
        func raw(_ ta: Bool, _ tb: Bool, _ m: Int, _ n: Int, _ k: Int, _ a: Tensor, _ lda: Int, _ b: Tensor, _ ldb: Int, _ c: Tensor, _ ldc: Int) {
            cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, Int32(m), Int32(n), Int32(k), 1,
                        a.floats, Int32(lda), b.floats, Int32(ldb), 0, c.floats, Int32(ldc))
        }
        let shape = "\(tokens)×\(inFeatures)×\(outFeatures)"
        let fwd = median(repeats) { _ = Linear.forward(be, x: x, weight: w, bias: nil, into: y) }
        let fwdRaw = median(repeats) { raw(false, true, tokens, outFeatures, inFeatures, x, inFeatures, w, inFeatures, y, outFeatures) }
        let bx = median(repeats) { Linear.backward(be, dy: dy, x: x, weight: w, dx: dx, dWeight: nil, dBias: nil) }
        let bxRaw = median(repeats) { raw(false, false, tokens, inFeatures, outFeatures, dy, outFeatures, w, inFeatures, dx, inFeatures) }
        let bw = median(repeats) { Linear.backward(be, dy: dy, x: x, weight: w, dx: nil, dWeight: dw, dBias: nil) }
        let bwRaw = median(repeats) { raw(true, false, outFeatures, inFeatures, tokens, dy, outFeatures, x, inFeatures, dw, inFeatures) }
        return [GemmResult(label: "\(shape) forward", backendGFLOPS: flops / fwd, rawGFLOPS: flops / fwdRaw),
                GemmResult(label: "\(shape) input grad", backendGFLOPS: flops / bx, rawGFLOPS: flops / bxRaw),
                GemmResult(label: "\(shape) weight grad", backendGFLOPS: flops / bw, rawGFLOPS: flops / bwRaw)]
    }

    public struct TimeMemory: Sendable { public var seconds: Double; public var peakBytes: Int }

    /// Forward+backward of the loss over `tokens` rows of `hidden` features into `vocab` logits, with the given
    /// chunk (chunk = tokens is the unfused version: the whole logits matrix at once).
    public static func crossEntropy(_ be: Backend, tokens: Int, hidden: Int, vocab: Int, chunkRows: Int, repeats: Int = 3) -> TimeMemory {
        var r = SeedFill(seed: 2)
        let h = r.tensor([tokens, hidden], scale: 1), w = r.tensor([vocab, hidden], scale: 0.05)
        let dh = Tensor(zeros: h.shape), dw = Tensor(zeros: w.shape)
        var labels = (0..<tokens).map { Int32(($0 * 7919) % vocab) }
        MemoryTracker.shared.resetPeak()
        let base = MemoryTracker.shared.liveBytes
        let t = median(repeats) {
            _ = labels.withUnsafeMutableBufferPointer {
                LinearCrossEntropy.run(be, hidden: h, weight: w, labels: $0.baseAddress!, chunkRows: chunkRows, gradScale: 1 / Float(tokens), dHidden: dh, dWeight: dw)
            }
        }
        return TimeMemory(seconds: t, peakBytes: MemoryTracker.shared.peakBytes - base)
    }

    /// Attention forward+backward, tiled or plain.
    public static func attention(_ be: Backend, shape: AttentionShape, tiled: Bool, repeats: Int = 3) -> TimeMemory {
        var r = SeedFill(seed: 3)
        let n = shape.tokens
        let q = r.tensor([n, shape.queryHeads * shape.headDim]), k = r.tensor([n, shape.kvHeads * shape.headDim]), v = r.tensor(k.shape)
        let dOut = r.tensor(q.shape)
        let scale = 1 / Float(shape.headDim).squareRoot()
        MemoryTracker.shared.resetPeak()
        let base = MemoryTracker.shared.liveBytes
        let t = median(repeats) {
            let out = Tensor(zeros: q.shape), dq = Tensor(zeros: q.shape), dk = Tensor(zeros: k.shape), dv = Tensor(zeros: v.shape)
            if tiled {
                let lse = Tensor(zeros: [shape.batch * shape.queryHeads * shape.seqLen])
                Attention.forward(be, shape: shape, mask: AttentionMask(), scale: scale, q: q.floats, k: k.floats, v: v.floats, out: out.floats, lse: lse.floats)
                Attention.backward(be, shape: shape, mask: AttentionMask(), scale: scale, q: q.floats, k: k.floats, v: v.floats, out: out.floats,
                                   lse: lse.floats, dOut: dOut.floats, dq: dq.floats, dk: dk.floats, dv: dv.floats)
            } else {
                let probs = Tensor(zeros: [shape.batch * shape.queryHeads * shape.seqLen * shape.seqLen])
                Attention.referenceForward(be, shape: shape, mask: AttentionMask(), scale: scale, q: q.floats, k: k.floats, v: v.floats, out: out.floats, probs: probs.floats)
                Attention.referenceBackward(be, shape: shape, scale: scale, q: q.floats, k: k.floats, v: v.floats, probs: probs.floats,
                                            dOut: dOut.floats, dq: dq.floats, dk: dk.floats, dv: dv.floats)
            }
        }
        return TimeMemory(seconds: t, peakBytes: MemoryTracker.shared.peakBytes - base)
    }

    /// Raw sgemm throughput on one shape (the machine's practical peak).
    public static func sgemmPeak(m: Int = 2048, n: Int = 1536, k: Int = 576) -> Double {
        var r = SeedFill(seed: 4)
        let a = r.tensor([m, k]), b = r.tensor([n, k]), c = Tensor(zeros: [m, n])
        let t = median(5) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, a.floats, Int32(k), b.floats, Int32(k), 0, c.floats, Int32(n))
        }
        return 2.0 * Double(m * n * k) / t / 1e9
    }
}

/// Deterministic fill for benchmark inputs.
struct SeedFill {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func tensor(_ shape: [Int], scale: Float = 1) -> Tensor {
        let t = Tensor(zeros: shape)
        for i in 0..<t.count {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            t.floats[i] = (Float(state >> 40) / Float(1 << 24) * 2 - 1) * scale
        }
        return t
    }
}
