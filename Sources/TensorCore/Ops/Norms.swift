/// LayerNorm over the last dimension: y = (x − mean)·rstd·w + b. Saves mean and rstd per row for backward.
public enum LayerNorm {
    @_specialize(where S == Float)
    public static func forward<S: KernelScalar>(_ be: Backend, x: UnsafePointer<S>, weight: UnsafePointer<S>, bias: UnsafePointer<S>?,
                                                y: UnsafeMutablePointer<S>, mean: UnsafeMutablePointer<S>, rstd: UnsafeMutablePointer<S>,
                                                rows: Int, columns c: Int, eps: Double) {
        let probe = Profiler.begin("norm forward")
        defer { Profiler.end(probe) }
        be.parallelRows(rows, minRowsPerTask: 8) { range in
            for r in range {
                let xi = x + r * c, yi = y + r * c
                // Row sums in Double: sequential float32 sums over thousands of features drift.
                var s = 0.0
                for j in 0..<c { s += Double(xi[j]) }
                let m = S(s / Double(c))
                var v = 0.0
                for j in 0..<c { let d = Double(xi[j] - m); v += d * d }
                let rs = S(1 / (v / Double(c) + eps).squareRoot())
                for j in 0..<c { yi[j] = (xi[j] - m) * rs * weight[j] + (bias?[j] ?? 0) }
                mean[r] = m
                rstd[r] = rs
            }
        }
    }

    /// dx += ∂L/∂x; dWeight/dBias accumulate Σ over rows (per-chunk partial sums added in a fixed order).
    @_specialize(where S == Float)
    public static func backward<S: KernelScalar>(_ be: Backend, dy: UnsafePointer<S>, x: UnsafePointer<S>, weight: UnsafePointer<S>,
                                                 mean: UnsafePointer<S>, rstd: UnsafePointer<S>, dx: UnsafeMutablePointer<S>?,
                                                 dWeight: UnsafeMutablePointer<S>?, dBias: UnsafeMutablePointer<S>?,
                                                 rows: Int, columns c: Int) {
        let probe = Profiler.begin("norm backward")
        defer { Profiler.end(probe) }
        normBackward(be, rows: rows, columns: c, dWeight: dWeight, dBias: dBias) { r, pw, pb in
            let xi = x + r * c, dyi = dy + r * c
            let m = mean[r], rs = rstd[r]
            var sumG: S = 0, sumGX: S = 0
            for j in 0..<c {
                let xhat = (xi[j] - m) * rs
                let g = dyi[j] * weight[j]
                sumG += g
                sumGX += g * xhat
                if let pw { pw[j] += dyi[j] * xhat }
                if let pb { pb[j] += dyi[j] }
            }
            guard let dx else { return }
            let dxi = dx + r * c, mg = sumG / S(c), mgx = sumGX / S(c)
            for j in 0..<c {
                let xhat = (xi[j] - m) * rs
                dxi[j] += rs * (dyi[j] * weight[j] - mg - xhat * mgx)
            }
        }
    }
}

/// RMSNorm (Llama): y = x / sqrt(mean(x²) + eps) · w, computed in float32 like HF's LlamaRMSNorm.
public enum RMSNorm {
    @_specialize(where S == Float)
    public static func forward<S: KernelScalar>(_ be: Backend, x: UnsafePointer<S>, weight: UnsafePointer<S>,
                                                y: UnsafeMutablePointer<S>, rstd: UnsafeMutablePointer<S>,
                                                rows: Int, columns c: Int, eps: Double) {
        let probe = Profiler.begin("norm forward")
        defer { Profiler.end(probe) }
        be.parallelRows(rows, minRowsPerTask: 8) { range in
            for r in range {
                let xi = x + r * c, yi = y + r * c
                var ss = 0.0
                for j in 0..<c { ss += Double(xi[j]) * Double(xi[j]) }
                let rs = S(1 / (ss / Double(c) + eps).squareRoot())
                for j in 0..<c { yi[j] = weight[j] * (xi[j] * rs) }
                rstd[r] = rs
            }
        }
    }

    @_specialize(where S == Float)
    public static func backward<S: KernelScalar>(_ be: Backend, dy: UnsafePointer<S>, x: UnsafePointer<S>, weight: UnsafePointer<S>,
                                                 rstd: UnsafePointer<S>, dx: UnsafeMutablePointer<S>?, dWeight: UnsafeMutablePointer<S>?,
                                                 rows: Int, columns c: Int) {
        let probe = Profiler.begin("norm backward")
        defer { Profiler.end(probe) }
        normBackward(be, rows: rows, columns: c, dWeight: dWeight, dBias: nil) { r, pw, _ in
            let xi = x + r * c, dyi = dy + r * c, rs = rstd[r]
            var sumGX: S = 0
            for j in 0..<c {
                let xhat = xi[j] * rs
                sumGX += dyi[j] * weight[j] * xhat
                if let pw { pw[j] += dyi[j] * xhat }
            }
            guard let dx else { return }
            let dxi = dx + r * c, mgx = sumGX / S(c)
            for j in 0..<c { dxi[j] += rs * (dyi[j] * weight[j] - xi[j] * rs * mgx) }
        }
    }
}

/// Runs a per-row norm backward across threads; weight/bias gradients go to per-chunk buffers summed in order,
/// so the result is the same on every run with the same thread count.
func normBackward<S: KernelScalar>(_ be: Backend, rows: Int, columns c: Int, dWeight: UnsafeMutablePointer<S>?,
                                   dBias: UnsafeMutablePointer<S>?,
                                   _ row: (Int, UnsafeMutablePointer<S>?, UnsafeMutablePointer<S>?) -> Void) {
    let tasks = max(1, min(be.threads, rows / 8))
    let partials = UnsafeMutablePointer<S>.allocate(capacity: tasks * 2 * c)
    partials.initialize(repeating: 0, count: tasks * 2 * c)
    defer { partials.deallocate() }
    be.parallelFor(tasks) { t in
        let pw = dWeight == nil ? nil : partials + t * 2 * c
        let pb = dBias == nil ? nil : partials + t * 2 * c + c
        for r in (rows * t / tasks)..<(rows * (t + 1) / tasks) { row(r, pw, pb) }
    }
    for t in 0..<tasks {
        if let dWeight { for j in 0..<c { dWeight[j] += partials[t * 2 * c + j] } }
        if let dBias { for j in 0..<c { dBias[j] += partials[t * 2 * c + c + j] } }
    }
}

/// Embedding lookup out[i] = table[ids[i]]; backward accumulates rows of the table gradient. Also serves learned
/// position embeddings (ids = positions + offset; OPT's offset is 2).
public enum Embedding {
    /// Any table storage; 16-bit tables are widened row by row.
    public static func forward(_ be: Backend, ids: UnsafePointer<Int32>, count n: Int, table: Tensor, offset: Int = 0,
                               out: UnsafeMutablePointer<Float>) {
        let probe = Profiler.begin("embedding forward")
        defer { Profiler.end(probe) }
        let c = table.shape[1], vocab = table.shape[0]
        be.parallelRows(n, minRowsPerTask: 64) { range in
            for i in range {
                let id = Int(ids[i]) + offset
                precondition(id >= 0 && id < vocab, "token id \(id) is outside the embedding table of \(vocab) rows")
                table.widen(into: out + i * c, from: id * c, count: c)
            }
        }
    }

    @_specialize(where S == Float)
    public static func forward<S: KernelScalar>(ids: UnsafePointer<Int32>, count n: Int, table: UnsafePointer<S>, columns c: Int,
                                                offset: Int = 0, out: UnsafeMutablePointer<S>) {
        for i in 0..<n { (out + i * c).update(from: table + (Int(ids[i]) + offset) * c, count: c) }
    }

    /// dTable[ids[i] + offset] += dOut[i]; split by columns across threads so no two threads touch one element.
    @_specialize(where S == Float)
    public static func backward<S: KernelScalar>(_ be: Backend, ids: UnsafePointer<Int32>, count n: Int, dOut: UnsafePointer<S>,
                                                 dTable: UnsafeMutablePointer<S>, columns c: Int, offset: Int = 0) {
        let probe = Profiler.begin("embedding backward")
        defer { Profiler.end(probe) }
        be.parallelRows(c, minRowsPerTask: 64) { cols in
            for i in 0..<n {
                let src = dOut + i * c, dst = dTable + (Int(ids[i]) + offset) * c
                for j in cols { dst[j] += src[j] }
            }
        }
    }
}
