/// PyTorch's float32 `sum` on CPU, reproduced operation for operation (aten/src/ATen/native/cpu/SumKernel.cpp:
/// cascade sum over 8-lane AVX2 vectors, 4-way ILP, 4 levels), so `mean()` of bitsandbytes' absmax values — the
/// double-quantization offset — comes out bit-identical. This is the single-threaded path PyTorch takes below its
/// parallel grain (32768 elements); above it PyTorch splits per thread, and the last bit may differ.
enum TorchSum {
    static let lanes = 8

    static func mean(_ x: [Float]) -> Float {
        sum(x) / Float(x.count)
    }

    static func sum(_ x: [Float]) -> Float {
        let n = x.count
        if n < lanes {
            // Scalar path: row_sum with 4 partial sums.
            let groups = n / 4
            var partial = multiRowSum(rows: 4, size: groups, zero: Float(0)) { i, k in x[i * 4 + k] }
            for i in groups * 4 ..< n { partial[0] += x[i] }
            for k in 1..<4 { partial[0] += partial[k] }
            return partial[0]
        }
        let vectors = n / lanes, groups = vectors / 4
        func vector(_ v: Int) -> SIMD8<Float> {
            var s = SIMD8<Float>()
            for l in 0..<lanes { s[l] = x[v * lanes + l] }
            return s
        }
        var partial = multiRowSum(rows: 4, size: groups, zero: SIMD8<Float>()) { i, k in vector(i * 4 + k) }
        for v in groups * 4 ..< vectors { partial[0] += vector(v) }
        for k in 1..<4 { partial[0] += partial[k] }
        var total: Float = 0
        for i in vectors * lanes ..< n { total += x[i] }
        for l in 0..<lanes { total += partial[0][l] }
        return total
    }

    /// `multi_row_sum`: `rows` interleaved running sums, carried up 4 levels every 2^levelPower elements.
    static func multiRowSum<T: TorchSummable>(rows: Int, size: Int, zero: T, _ load: (Int, Int) -> T) -> [T] {
        let levels = 4
        let levelPower = max(4, ceilLog2(size) / levels)
        let levelStep = 1 << levelPower, levelMask = levelStep - 1
        var acc = [[T]](repeating: [T](repeating: zero, count: rows), count: levels)
        var i = 0
        while i + levelStep <= size {
            for _ in 0..<levelStep {
                for k in 0..<rows { acc[0][k] += load(i, k) }
                i += 1
            }
            for j in 1..<levels {
                for k in 0..<rows {
                    acc[j][k] += acc[j - 1][k]
                    acc[j - 1][k] = zero
                }
                if i & (levelMask << (j * levelPower)) != 0 { break }
            }
        }
        while i < size {
            for k in 0..<rows { acc[0][k] += load(i, k) }
            i += 1
        }
        for j in 1..<levels { for k in 0..<rows { acc[0][k] += acc[j][k] } }
        return acc[0]
    }

    /// c10's CeilLog2: 1 for x ≤ 2.
    static func ceilLog2(_ x: Int) -> Int {
        x <= 2 ? 1 : (Int.bitWidth - (x - 1).leadingZeroBitCount)
    }
}

/// Float and 8-lane vectors: what the cascade adds (lane-wise for vectors, as Vectorized<float> does).
protocol TorchSummable { static func += (a: inout Self, b: Self) }
extension Float: TorchSummable {}
extension SIMD8: TorchSummable where Scalar == Float {}
