import COpenBLAS

/// The compute backend model code calls; it never calls BLAS or loops directly, so a CUDA backend can slot in later.
public protocol Backend: Sendable {
    /// C[m×n] = alpha · op(A) · op(B) + beta · C, row-major, op = transpose when the flag is set.
    func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
              a: [Float], b: [Float], beta: Float, c: inout [Float]) throws
}

/// CPU backend: GEMM through OpenBLAS cblas_sgemm.
public struct CPUBackend: Backend {
    public init() {}

    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: [Float], b: [Float], beta: Float, c: inout [Float]) throws {
        guard a.count == m * k, b.count == k * n, c.count == m * n else {
            throw TensorError.shapeMismatch("gemm(m: \(m), n: \(n), k: \(k)) got buffers of \(a.count), \(b.count), \(c.count); pass buffers sized m·k, k·n, m·n")
        }
        if m == 0 || n == 0 { return }
        let lda = transA ? m : k
        let ldb = transB ? k : n
        a.withUnsafeBufferPointer { pa in
            b.withUnsafeBufferPointer { pb in
                c.withUnsafeMutableBufferPointer { pc in
                    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                                Int32(m), Int32(n), Int32(k), alpha, pa.baseAddress, Int32(lda),
                                pb.baseAddress, Int32(ldb), beta, pc.baseAddress, Int32(n))
                }
            }
        }
    }

    /// Sets the OpenBLAS thread count.
    public static func setThreads(_ n: Int) {
        openblas_set_num_threads(Int32(max(1, n)))
    }
}

/// Placeholder for a future GPU build: every call throws so misuse is reported, never silent.
public struct CUDABackend: Backend {
    public init() {}

    public func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                     a: [Float], b: [Float], beta: Float, c: inout [Float]) throws {
        throw TensorError.unavailable("CUDA not available in this build; use CPUBackend()")
    }
}
