import COpenBLAS
import Dispatch
import Foundation
import RealModule

/// The element types kernels run on: Float in training, Double in gradient checks of the very same kernels.
public protocol KernelScalar: BinaryFloatingPoint & Real & Sendable {
    /// C = alpha·op(A)·op(B) + beta·C, row-major, with explicit leading dimensions (so tiles of larger
    /// matrices need no copies).
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Self,
                     a: UnsafePointer<Self>, lda: Int, b: UnsafePointer<Self>, ldb: Int,
                     beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)
}

extension Float: KernelScalar {
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        if m == 0 || n == 0 { return }
        cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

extension Double: KernelScalar {
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                            a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        if m == 0 || n == 0 { return }
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// The compute backend ops run on. Model code calls ops, ops call the backend; nothing above calls BLAS or
/// spins threads itself, so a CUDA backend can take this place later.
public protocol Backend: Sendable {
    /// Worker threads for BLAS and for the kernels' own parallel loops.
    var threads: Int { get }
    func gemm<S: KernelScalar>(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: S,
                               a: UnsafePointer<S>, lda: Int, b: UnsafePointer<S>, ldb: Int,
                               beta: S, c: UnsafeMutablePointer<S>, ldc: Int)
    /// Runs `body(task)` for task in 0..<tasks across the threads; the split is fixed by the task count, so
    /// results do not depend on scheduling.
    func parallelFor(_ tasks: Int, _ body: (Int) -> Void)
    /// Runs `body` with BLAS single-threaded, for kernels that parallelize over many small GEMMs themselves.
    func withSingleThreadedBLAS<R>(_ body: () -> R) -> R
}

/// CPU backend: GEMM through OpenBLAS, other kernels split across cores with Dispatch.
public struct CPUBackend: Backend {
    public let threads: Int

    /// `threads` 0 means all cores (the recipe's default).
    public init(threads: Int = 0) {
        let n = threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount
        self.threads = max(1, n)
        openblas_set_num_threads(Int32(self.threads))
    }

    public func gemm<S: KernelScalar>(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: S,
                                      a: UnsafePointer<S>, lda: Int, b: UnsafePointer<S>, ldb: Int,
                                      beta: S, c: UnsafeMutablePointer<S>, ldc: Int) {
        S.gemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
               beta: beta, c: c, ldc: ldc)
    }

    public func parallelFor(_ tasks: Int, _ body: (Int) -> Void) {
        if tasks <= 0 { return }
        if threads == 1 || tasks == 1 {
            for t in 0..<tasks { body(t) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            DispatchQueue.concurrentPerform(iterations: tasks) { box.value($0) }
        }
    }

    public func withSingleThreadedBLAS<R>(_ body: () -> R) -> R {
        if threads == 1 { return body() }
        openblas_set_num_threads(1)
        defer { openblas_set_num_threads(Int32(threads)) }
        return body()
    }
}

/// Carries a non-Sendable closure into Dispatch; the kernels guarantee tasks touch disjoint memory.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

extension Backend {
    /// Splits `count` rows into at most `threads` contiguous chunks and runs them in parallel.
    public func parallelRows(_ count: Int, minRowsPerTask: Int = 1, _ body: (Range<Int>) -> Void) {
        let tasks = Swift.max(1, Swift.min(threads, count / Swift.max(1, minRowsPerTask)))
        parallelFor(tasks) { t in
            let lo = count * t / tasks, hi = count * (t + 1) / tasks
            if lo < hi { body(lo..<hi) }
        }
    }
}
