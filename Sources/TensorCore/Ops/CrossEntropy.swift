import Foundation
import RealModule

/// Cross-entropy of the output projection, fused with it: logits = h·Wᵀ are made `chunkRows` rows at a time,
/// turned into loss and (when training) straight into gradients, so the [tokens × vocab] matrix never exists.
/// Rows whose label is `ignoreIndex` (-100) are skipped before any logits are computed.
public enum LinearCrossEntropy {
    public static let ignoreIndex: Int32 = -100
    public static let defaultChunkRows = 256

    /// Σ of per-token losses over labelled rows, and how many rows were labelled.
    public struct Result: Sendable, Equatable {
        public var lossSum: Double
        public var count: Int
        /// Labelled rows whose arg-max logit is the label (TRL's mean_token_accuracy numerator).
        public var correct: Int = 0
        /// Σ of the softmax entropy over labelled rows (TRL's entropy numerator).
        public var entropySum: Double = 0

        public init(lossSum: Double, count: Int, correct: Int = 0, entropySum: Double = 0) {
            self.lossSum = lossSum
            self.count = count
            self.correct = correct
            self.entropySum = entropySum
        }

        public static func + (a: Result, b: Result) -> Result {
            Result(lossSum: a.lossSum + b.lossSum, count: a.count + b.count, correct: a.correct + b.correct,
                   entropySum: a.entropySum + b.entropySum)
        }
    }

    /// hidden [N, C], weight [V, C] (any storage), labels [N]. With `gradScale` set, accumulates
    /// dHidden += gradScale·∂loss/∂hidden and dWeight += gradScale·∂loss/∂W (dWeight nil for a frozen head).
    public static func run(_ be: Backend, hidden: Tensor, weight: Tensor, labels: UnsafePointer<Int32>,
                           chunkRows: Int = defaultChunkRows, gradScale: Float? = nil,
                           dHidden: Tensor? = nil, dWeight: Tensor? = nil) -> Result {
        let probe = Profiler.begin("loss (fused linear cross-entropy)")
        defer { Profiler.end(probe) }
        let c = weight.shape[1], vocab = weight.shape[0], n = hidden.count / c
        precondition(hidden.shape.last == c, "hidden \(hidden.shape) does not match the head \(weight.shape)")
        var rows: [Int] = []
        for i in 0..<n where labels[i] != ignoreIndex {
            precondition(labels[i] >= 0 && Int(labels[i]) < vocab, "label \(labels[i]) is outside the vocabulary of \(vocab)")
            rows.append(i)
        }
        let chunk = max(1, min(chunkRows, rows.count))
        let h = Tensor(zeros: [chunk, c]), logits = Tensor(zeros: [chunk, vocab])
        let dh = gradScale == nil ? nil : Tensor(zeros: [chunk, c])
        var losses = [Double](repeating: 0, count: chunk), entropies = losses
        var hits = [Bool](repeating: false, count: chunk)
        var total = Result(lossSum: 0, count: rows.count)
        var start = 0
        while start < rows.count {
            let part = Array(rows[start..<min(rows.count, start + chunk)]), r = part.count
            for (j, i) in part.enumerated() { (h.floats + j * c).update(from: hidden.floats + i * c, count: c) }
            let hr = h.rows(0..<r), lr = logits.rows(0..<r)
            _ = Linear.forward(be, x: hr, weight: weight, bias: nil, into: lr)
            losses.withUnsafeMutableBufferPointer { lossBuf in entropies.withUnsafeMutableBufferPointer { entBuf in hits.withUnsafeMutableBufferPointer { hitBuf in
                let lp = lossBuf.baseAddress!, ep = entBuf.baseAddress!, hp = hitBuf.baseAddress!
                be.parallelRows(r) { range in
                    for j in range {
                        let row = lr.floats + j * vocab, label = Int(labels[part[j]])
                        var m = -Float.infinity, best = 0
                        for v in 0..<vocab where row[v] > m { m = row[v]; best = v }
                        // Sums over the vocabulary in Double: 49k float32 additions in a row drift by ~1e-5.
                        var s = 0.0, sx = 0.0
                        for v in 0..<vocab {
                            let e = Float.exp(row[v] - m)
                            s += Double(e)
                            sx += Double(e * (row[v] - m))
                        }
                        let logS = Foundation.log(s)
                        let lse = m + Float(logS)
                        lp[j] = Double(m) + logS - Double(row[label])
                        ep[j] = logS - sx / s
                        hp[j] = best == label
                        guard let g = gradScale else { continue }
                        for v in 0..<vocab { row[v] = Float.exp(row[v] - lse) * g }
                        row[label] -= g
                    }
                }
            } } }
            for j in 0..<r {
                total.lossSum += losses[j]
                total.entropySum += entropies[j]
                if hits[j] { total.correct += 1 }
            }
            if let dh, gradScale != nil {
                let dhr = dh.rows(0..<r)
                dhr.zero()
                Linear.backward(be, dy: lr, x: hr, weight: weight, dx: dhr, dWeight: dWeight, dBias: nil)
                if let dHidden {
                    for (j, i) in part.enumerated() {
                        let dst = dHidden.floats + i * c, src = dhr.floats + j * c
                        for k in 0..<c { dst[k] += src[k] }
                    }
                }
            }
            start += r
        }
        return total
    }

    /// Unfused cross-entropy over given logits [N, V] (generic, for gradient checks): Σ loss, and
    /// dLogits += gradScale·(softmax − onehot) when given.
    @_specialize(where S == Float)
    public static func reference<S: KernelScalar>(logits: UnsafePointer<S>, labels: UnsafePointer<Int32>, rows n: Int, vocab: Int,
                                                  gradScale: S = 1, dLogits: UnsafeMutablePointer<S>? = nil) -> (S, Int) {
        var total: S = 0, count = 0
        for i in 0..<n where labels[i] != ignoreIndex {
            let row = logits + i * vocab
            var m = -S.infinity
            for v in 0..<vocab { m = max(m, row[v]) }
            var s: S = 0
            for v in 0..<vocab { s += S.exp(row[v] - m) }
            let lse = m + S.log(s)
            total += lse - row[Int(labels[i])]
            count += 1
            if let d = dLogits {
                for v in 0..<vocab { d[i * vocab + v] += S.exp(row[v] - lse) * gradScale }
                d[i * vocab + Int(labels[i])] -= gradScale
            }
        }
        return (total, count)
    }
}
