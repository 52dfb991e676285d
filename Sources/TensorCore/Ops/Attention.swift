import RealModule

/// Shapes of one attention call. Tensors are token-major, as the projections write them:
/// q [batch·seqLen, queryHeads·headDim], k and v [batch·seqLen, kvHeads·headDim].
public struct AttentionShape: Sendable, Equatable {
    public var batch: Int, seqLen: Int, queryHeads: Int, kvHeads: Int, headDim: Int

    public init(batch: Int, seqLen: Int, queryHeads: Int, kvHeads: Int, headDim: Int) {
        precondition(queryHeads % kvHeads == 0, "query heads (\(queryHeads)) must be a multiple of kv heads (\(kvHeads))")
        self.batch = batch
        self.seqLen = seqLen
        self.queryHeads = queryHeads
        self.kvHeads = kvHeads
        self.headDim = headDim
    }

    public var tokens: Int { batch * seqLen }
    public var groupSize: Int { queryHeads / kvHeads }
}

/// Which keys each query sees: causal, inside its own packed example (segment), within the sliding window,
/// and never a padding key. Per query the visible keys are the range [lower, t] minus padding.
public struct AttentionMask: Sendable {
    /// Per token, false for padding (as a key it is never attended to).
    public var keyValid: [Bool]?
    /// Per token, the packed example it belongs to; examples are contiguous runs.
    public var segmentIds: [Int32]?
    /// Query t sees key s only when t − s < window (Mistral's sliding_window, GPT-Neo's local layers).
    public var window: Int?

    public init(keyValid: [Bool]? = nil, segmentIds: [Int32]? = nil, window: Int? = nil) {
        self.keyValid = keyValid
        self.segmentIds = segmentIds
        self.window = window
    }

    /// First visible key per token, from segment starts and the window.
    func lowerBounds(batch: Int, seqLen: Int) -> [Int] {
        var lo = [Int](repeating: 0, count: batch * seqLen)
        for b in 0..<batch {
            var start = 0
            for t in 0..<seqLen {
                let i = b * seqLen + t
                if let seg = segmentIds, t > 0, seg[i] != seg[i - 1] { start = t }
                var l = start
                if let w = window { l = max(l, t - w + 1) }
                lo[i] = l
            }
        }
        return lo
    }

    func visible(_ b: Int, _ t: Int, _ s: Int, seqLen: Int, lower: [Int]) -> Bool {
        s <= t && s >= lower[b * seqLen + t] && (keyValid?[b * seqLen + s] ?? true)
    }
}

/// Scaled dot-product attention with grouped-query heads. `forward`/`backward` are the tiled online-softmax
/// (flash-style) kernels: memory is O(tile²) per thread, never O(T²). `referenceForward`/`referenceBackward`
/// materialize the full score matrix and exist for tests and benchmarks.
/// Queries with no visible key (e.g. left padding) produce zeros and pass no gradient.
public enum Attention {
    public static let queryTile = 64
    public static let keyTile = 64

    /// out [tokens, Hq·D]; lse [batch, Hq, T] (log-sum-exp per query row, −∞ when nothing is visible).
    @_specialize(where S == Float)
    public static func forward<S: KernelScalar>(_ be: Backend, shape sh: AttentionShape, mask: AttentionMask, scale: S,
                                                q: UnsafePointer<S>, k: UnsafePointer<S>, v: UnsafePointer<S>,
                                                out: UnsafeMutablePointer<S>, lse: UnsafeMutablePointer<S>) {
        let probe = Profiler.begin("attention forward")
        defer { Profiler.end(probe) }
        let T = sh.seqLen, D = sh.headDim, Hq = sh.queryHeads, Hkv = sh.kvHeads, G = sh.groupSize
        let ldq = Hq * D, ldk = Hkv * D
        let lower = mask.lowerBounds(batch: sh.batch, seqLen: T)
        be.withSingleThreadedBLAS {
            be.parallelFor(sh.batch * Hq) { task in
                let b = task / Hq, h = task % Hq, kh = h / G
                let scores = UnsafeMutablePointer<S>.allocate(capacity: queryTile * keyTile)
                let acc = UnsafeMutablePointer<S>.allocate(capacity: queryTile * D)
                var rowMax = [S](repeating: 0, count: queryTile), rowSum = rowMax
                defer { scores.deallocate(); acc.deallocate() }
                let qBase = q + b * T * ldq + h * D, kBase = k + b * T * ldk + kh * D, vBase = v + b * T * ldk + kh * D
                var q0 = 0
                while q0 < T {
                    let q1 = min(T, q0 + queryTile), nq = q1 - q0
                    acc.initialize(repeating: 0, count: nq * D)
                    for i in 0..<nq { rowMax[i] = -S.infinity; rowSum[i] = 0 }
                    var kStart = q1 - 1
                    for t in q0..<q1 { kStart = min(kStart, lower[b * T + t]) }
                    var k0 = kStart
                    while k0 < q1 {
                        let k1 = min(q1, k0 + keyTile), nk = k1 - k0
                        be.gemm(transA: false, transB: true, m: nq, n: nk, k: D, alpha: scale, a: qBase + q0 * ldq, lda: ldq,
                                b: kBase + k0 * ldk, ldb: ldk, beta: 0, c: scores, ldc: nk)
                        for i in 0..<nq {
                            let t = q0 + i, row = scores + i * nk
                            var m = rowMax[i]
                            for j in 0..<nk {
                                if mask.visible(b, t, k0 + j, seqLen: T, lower: lower) { m = max(m, row[j]) } else { row[j] = -S.infinity }
                            }
                            if m == -S.infinity { for j in 0..<nk { row[j] = 0 }; continue }
                            let correction = S.exp(rowMax[i] - m)
                            var s: S = 0
                            for j in 0..<nk {
                                let p = row[j] == -S.infinity ? 0 : S.exp(row[j] - m)
                                row[j] = p
                                s += p
                            }
                            rowSum[i] = rowSum[i] * correction + s
                            rowMax[i] = m
                            if correction != 1 { for d in 0..<D { acc[i * D + d] *= correction } }
                        }
                        be.gemm(transA: false, transB: false, m: nq, n: D, k: nk, alpha: 1, a: scores, lda: nk,
                                b: vBase + k0 * ldk, ldb: ldk, beta: 1, c: acc, ldc: D)
                        k0 = k1
                    }
                    for i in 0..<nq {
                        let t = q0 + i, o = out + (b * T + t) * ldq + h * D
                        let l = rowSum[i]
                        lse[(b * Hq + h) * T + t] = l > 0 ? rowMax[i] + S.log(l) : -S.infinity
                        let inv: S = l > 0 ? 1 / l : 0
                        for d in 0..<D { o[d] = acc[i * D + d] * inv }
                    }
                    q0 = q1
                }
            }
        }
    }

    /// Accumulates dq, dk, dv from dout, recomputing scores tile by tile from the saved log-sum-exp.
    /// Work is split per (batch, kv head) so each thread owns its dk/dv rows: deterministic and race-free.
    @_specialize(where S == Float)
    public static func backward<S: KernelScalar>(_ be: Backend, shape sh: AttentionShape, mask: AttentionMask, scale: S,
                                                 q: UnsafePointer<S>, k: UnsafePointer<S>, v: UnsafePointer<S>,
                                                 out: UnsafePointer<S>, lse: UnsafePointer<S>, dOut: UnsafePointer<S>,
                                                 dq: UnsafeMutablePointer<S>, dk: UnsafeMutablePointer<S>, dv: UnsafeMutablePointer<S>) {
        let probe = Profiler.begin("attention backward")
        defer { Profiler.end(probe) }
        let T = sh.seqLen, D = sh.headDim, Hq = sh.queryHeads, Hkv = sh.kvHeads, G = sh.groupSize
        let ldq = Hq * D, ldk = Hkv * D
        let lower = mask.lowerBounds(batch: sh.batch, seqLen: T)
        be.withSingleThreadedBLAS {
            be.parallelFor(sh.batch * Hkv) { task in
                let b = task / Hkv, kh = task % Hkv
                let p = UnsafeMutablePointer<S>.allocate(capacity: queryTile * keyTile)
                let dp = UnsafeMutablePointer<S>.allocate(capacity: queryTile * keyTile)
                var rowDot = [S](repeating: 0, count: queryTile)
                defer { p.deallocate(); dp.deallocate() }
                let kBase = k + b * T * ldk + kh * D, vBase = v + b * T * ldk + kh * D
                let dkBase = dk + b * T * ldk + kh * D, dvBase = dv + b * T * ldk + kh * D
                for h in (kh * G)..<((kh + 1) * G) {
                    let qBase = q + b * T * ldq + h * D, dqBase = dq + b * T * ldq + h * D
                    let oBase = out + b * T * ldq + h * D, doBase = dOut + b * T * ldq + h * D
                    let lseRow = lse + (b * Hq + h) * T
                    var q0 = 0
                    while q0 < T {
                        let q1 = min(T, q0 + queryTile), nq = q1 - q0
                        var kStart = q1 - 1
                        for i in 0..<nq {
                            let t = q0 + i
                            kStart = min(kStart, lower[b * T + t])
                            var s: S = 0
                            for d in 0..<D { s += doBase[t * ldq + d] * oBase[t * ldq + d] }
                            rowDot[i] = s
                        }
                        var k0 = kStart
                        while k0 < q1 {
                            let k1 = min(q1, k0 + keyTile), nk = k1 - k0
                            be.gemm(transA: false, transB: true, m: nq, n: nk, k: D, alpha: scale, a: qBase + q0 * ldq, lda: ldq,
                                    b: kBase + k0 * ldk, ldb: ldk, beta: 0, c: p, ldc: nk)
                            for i in 0..<nq {
                                let t = q0 + i, l = lseRow[t], row = p + i * nk
                                for j in 0..<nk {
                                    row[j] = l == -S.infinity || !mask.visible(b, t, k0 + j, seqLen: T, lower: lower) ? 0 : S.exp(row[j] - l)
                                }
                            }
                            be.gemm(transA: true, transB: false, m: nk, n: D, k: nq, alpha: 1, a: p, lda: nk,
                                    b: doBase + q0 * ldq, ldb: ldq, beta: 1, c: dvBase + k0 * ldk, ldc: ldk)
                            be.gemm(transA: false, transB: true, m: nq, n: nk, k: D, alpha: 1, a: doBase + q0 * ldq, lda: ldq,
                                    b: vBase + k0 * ldk, ldb: ldk, beta: 0, c: dp, ldc: nk)
                            for i in 0..<nq {
                                let o = i * nk
                                for j in 0..<nk { dp[o + j] = p[o + j] * (dp[o + j] - rowDot[i]) * scale }
                            }
                            be.gemm(transA: false, transB: false, m: nq, n: D, k: nk, alpha: 1, a: dp, lda: nk,
                                    b: kBase + k0 * ldk, ldb: ldk, beta: 1, c: dqBase + q0 * ldq, ldc: ldq)
                            be.gemm(transA: true, transB: false, m: nk, n: D, k: nq, alpha: 1, a: dp, lda: nk,
                                    b: qBase + q0 * ldq, ldb: ldq, beta: 1, c: dkBase + k0 * ldk, ldc: ldk)
                            k0 = k1
                        }
                        q0 = q1
                    }
                }
            }
        }
    }

    /// Plain attention: full [T, T] probabilities per head, kept in `probs` [batch, Hq, T, T] for backward.
    @_specialize(where S == Float)
    public static func referenceForward<S: KernelScalar>(_ be: Backend, shape sh: AttentionShape, mask: AttentionMask, scale: S,
                                                         q: UnsafePointer<S>, k: UnsafePointer<S>, v: UnsafePointer<S>,
                                                         out: UnsafeMutablePointer<S>, probs: UnsafeMutablePointer<S>) {
        let T = sh.seqLen, D = sh.headDim, Hq = sh.queryHeads, G = sh.groupSize
        let ldq = Hq * D, ldk = sh.kvHeads * D
        let lower = mask.lowerBounds(batch: sh.batch, seqLen: T)
        for b in 0..<sh.batch {
            for h in 0..<Hq {
                let kh = h / G, pr = probs + (b * Hq + h) * T * T
                be.gemm(transA: false, transB: true, m: T, n: T, k: D, alpha: scale, a: q + b * T * ldq + h * D, lda: ldq,
                        b: k + b * T * ldk + kh * D, ldb: ldk, beta: 0, c: pr, ldc: T)
                for t in 0..<T {
                    let row = pr + t * T
                    var m = -S.infinity
                    for s in 0..<T where mask.visible(b, t, s, seqLen: T, lower: lower) { m = max(m, row[s]) }
                    var sum: S = 0
                    for s in 0..<T {
                        row[s] = m == -S.infinity || !mask.visible(b, t, s, seqLen: T, lower: lower) ? 0 : S.exp(row[s] - m)
                        sum += row[s]
                    }
                    if sum > 0 { for s in 0..<T { row[s] /= sum } }
                }
                be.gemm(transA: false, transB: false, m: T, n: D, k: T, alpha: 1, a: pr, lda: T,
                        b: v + b * T * ldk + kh * D, ldb: ldk, beta: 0, c: out + b * T * ldq + h * D, ldc: ldq)
            }
        }
    }

    @_specialize(where S == Float)
    public static func referenceBackward<S: KernelScalar>(_ be: Backend, shape sh: AttentionShape, scale: S,
                                                          q: UnsafePointer<S>, k: UnsafePointer<S>, v: UnsafePointer<S>,
                                                          probs: UnsafePointer<S>, dOut: UnsafePointer<S>,
                                                          dq: UnsafeMutablePointer<S>, dk: UnsafeMutablePointer<S>, dv: UnsafeMutablePointer<S>) {
        let T = sh.seqLen, D = sh.headDim, Hq = sh.queryHeads, G = sh.groupSize
        let ldq = Hq * D, ldk = sh.kvHeads * D
        let dp = UnsafeMutablePointer<S>.allocate(capacity: T * T)
        defer { dp.deallocate() }
        for b in 0..<sh.batch {
            for h in 0..<Hq {
                let kh = h / G, pr = probs + (b * Hq + h) * T * T
                let qb = q + b * T * ldq + h * D, kb = k + b * T * ldk + kh * D, vb = v + b * T * ldk + kh * D
                let dob = dOut + b * T * ldq + h * D
                be.gemm(transA: true, transB: false, m: T, n: D, k: T, alpha: 1, a: pr, lda: T, b: dob, ldb: ldq,
                        beta: 1, c: dv + b * T * ldk + kh * D, ldc: ldk)
                be.gemm(transA: false, transB: true, m: T, n: T, k: D, alpha: 1, a: dob, lda: ldq, b: vb, ldb: ldk,
                        beta: 0, c: dp, ldc: T)
                Softmax.backwardInPlace(dp, probs: pr, rows: T, columns: T, scale: scale)
                be.gemm(transA: false, transB: false, m: T, n: D, k: T, alpha: 1, a: dp, lda: T, b: kb, ldb: ldk,
                        beta: 1, c: dq + b * T * ldq + h * D, ldc: ldq)
                be.gemm(transA: true, transB: false, m: T, n: D, k: T, alpha: 1, a: dp, lda: T, b: qb, ldb: ldq,
                        beta: 1, c: dk + b * T * ldk + kh * D, ldc: ldk)
            }
        }
    }
}

extension Softmax {
    /// g ← scale · y ⊙ (g − Σ g⊙y), row by row.
    static func backwardInPlace<S: KernelScalar>(_ g: UnsafeMutablePointer<S>, probs y: UnsafePointer<S>, rows: Int, columns: Int, scale: S) {
        for r in 0..<rows {
            let o = r * columns
            var dot: S = 0
            for c in 0..<columns { dot += g[o + c] * y[o + c] }
            for c in 0..<columns { g[o + c] = scale * y[o + c] * (g[o + c] - dot) }
        }
    }
}
