/// Linear layer y = x·Wᵀ + b, x [N, In], W [Out, In] (nn.Linear layout), b [Out].
public enum Linear {
    /// Rows of a 16-bit weight widened per block, so a frozen bf16 matrix never gets a full float32 copy.
    static let widenBlockElements = 1 << 20

    /// y = x·Wᵀ + b (beta 0) or y += x·Wᵀ (accumulate).
    @_specialize(where S == Float)
    public static func forward<S: KernelScalar>(_ be: Backend, x: UnsafePointer<S>, weight: UnsafePointer<S>,
                                                bias: UnsafePointer<S>?, y: UnsafeMutablePointer<S>,
                                                rows n: Int, inFeatures: Int, outFeatures: Int, accumulate: Bool = false) {
        if let bias, !accumulate {
            for r in 0..<n { (y + r * outFeatures).update(from: bias, count: outFeatures) }
        }
        be.gemm(transA: false, transB: true, m: n, n: outFeatures, k: inFeatures, alpha: 1, a: x, lda: inFeatures,
                b: weight, ldb: inFeatures, beta: (bias != nil || accumulate) ? 1 : 0, c: y, ldc: outFeatures)
    }

    /// Accumulates dx += dy·W, dW += dyᵀ·x, db += Σ_rows dy (each only when given).
    @_specialize(where S == Float)
    public static func backward<S: KernelScalar>(_ be: Backend, dy: UnsafePointer<S>, x: UnsafePointer<S>,
                                                 weight: UnsafePointer<S>, dx: UnsafeMutablePointer<S>?,
                                                 dWeight: UnsafeMutablePointer<S>?, dBias: UnsafeMutablePointer<S>?,
                                                 rows n: Int, inFeatures: Int, outFeatures: Int) {
        if let dx {
            be.gemm(transA: false, transB: false, m: n, n: inFeatures, k: outFeatures, alpha: 1, a: dy, lda: outFeatures,
                    b: weight, ldb: inFeatures, beta: 1, c: dx, ldc: inFeatures)
        }
        if let dWeight {
            be.gemm(transA: true, transB: false, m: outFeatures, n: inFeatures, k: n, alpha: 1, a: dy, lda: outFeatures,
                    b: x, ldb: inFeatures, beta: 1, c: dWeight, ldc: inFeatures)
        }
        if let dBias { sumRows(dy, into: dBias, rows: n, columns: outFeatures) }
    }

    /// y [N, Out] = x·Wᵀ + b for any weight storage; 16-bit weights are widened one row block at a time.
    public static func forward(_ be: Backend, x: Tensor, weight: Tensor, bias: Tensor?, into y: Tensor? = nil) -> Tensor {
        let probe = Profiler.begin("linear forward")
        defer { Profiler.end(probe) }
        let (n, inF, outF) = dims(x, weight)
        let y = y ?? Tensor(zeros: Array(x.shape.dropLast()) + [outF])
        precondition(y.count == n * outF && (bias == nil || bias!.count == outF))
        if weight.elementType == .float32 {
            forward(be, x: x.floats, weight: weight.floats, bias: bias?.floats, y: y.floats,
                    rows: n, inFeatures: inF, outFeatures: outF)
            return y
        }
        if let bias { for r in 0..<n { (y.floats + r * outF).update(from: bias.floats, count: outF) } }
        forEachWidenedBlock(weight) { rows, w in
            be.gemm(transA: false, transB: true, m: n, n: rows.count, k: inF, alpha: 1, a: x.floats, lda: inF,
                    b: w, ldb: inF, beta: bias == nil ? 0 : 1, c: y.floats + rows.lowerBound, ldc: outF)
        }
        return y
    }

    /// Accumulates gradients; `dWeight` must be nil for a 16-bit (frozen) weight.
    public static func backward(_ be: Backend, dy: Tensor, x: Tensor, weight: Tensor,
                                dx: Tensor?, dWeight: Tensor?, dBias: Tensor?) {
        let (n, inF, outF) = dims(x, weight)
        precondition(dy.count == n * outF && (dx == nil || dx!.count == x.count))
        if weight.elementType == .float32 {
            if let dx {
                Profiler.measure("linear backward (input grad)") {
                    backward(be, dy: dy.floats, x: x.floats, weight: weight.floats, dx: dx.floats, dWeight: nil,
                             dBias: nil, rows: n, inFeatures: inF, outFeatures: outF)
                }
            }
            Profiler.measure("linear backward (weight grad)") {
                backward(be, dy: dy.floats, x: x.floats, weight: weight.floats, dx: nil, dWeight: dWeight?.floats,
                         dBias: dBias?.floats, rows: n, inFeatures: inF, outFeatures: outF)
            }
            return
        }
        let probe = Profiler.begin("linear backward (input grad)")
        defer { Profiler.end(probe) }
        precondition(dWeight == nil, "a \(weight.elementType) weight is frozen; it has no gradient")
        if let dx {
            forEachWidenedBlock(weight) { rows, w in
                be.gemm(transA: false, transB: false, m: n, n: inF, k: rows.count, alpha: 1,
                        a: dy.floats + rows.lowerBound, lda: outF, b: w, ldb: inF, beta: 1, c: dx.floats, ldc: inF)
            }
        }
        if let dBias { sumRows(dy.floats, into: dBias.floats, rows: n, columns: outF) }
    }

    /// Calls `body(rows, floats)` over row blocks of `weight` as float32 (the storage itself when float32).
    public static func forEachWidenedBlock(_ weight: Tensor, _ body: (Range<Int>, UnsafePointer<Float>) -> Void) {
        let rows = weight.shape[0], cols = weight.count / max(rows, 1)
        if weight.elementType == .float32 { body(0..<rows, weight.floats); return }
        let block = max(1, min(rows, widenBlockElements / max(cols, 1)))
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: block * cols)
        defer { scratch.deallocate() }
        var start = 0
        while start < rows {
            let end = min(rows, start + block)
            Profiler.measure("weight decode (16-bit / quantized)") {
                weight.widen(into: scratch, from: start * cols, count: (end - start) * cols)
            }
            body(start..<end, scratch)
            start = end
        }
    }

    static func dims(_ x: Tensor, _ weight: Tensor) -> (Int, Int, Int) {
        precondition(weight.shape.count == 2, "a linear weight is [Out, In], got \(weight.shape)")
        let inF = weight.shape[1], outF = weight.shape[0]
        precondition(x.count % inF == 0 && x.shape.last == inF, "x \(x.shape) does not end in \(inF) features")
        return (x.count / inF, inF, outF)
    }
}

/// out[c] += Σ_r m[r, c].
@inline(__always)
func sumRows<S: KernelScalar>(_ m: UnsafePointer<S>, into out: UnsafeMutablePointer<S>, rows: Int, columns: Int) {
    for r in 0..<rows {
        let row = m + r * columns
        for c in 0..<columns { out[c] += row[c] }
    }
}
