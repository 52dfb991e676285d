/// Linear layer y = x·Wᵀ + b with x [N, In], W [Out, In] (PyTorch nn.Linear layout), b [Out].
public enum Linear {
    /// Forward; saves nothing beyond x and W, which the caller keeps for backward.
    public static func forward(_ backend: Backend, x: Tensor, weight: Tensor, bias: Tensor?) throws -> Tensor {
        guard x.shape.count == 2, weight.shape.count == 2, x.shape[1] == weight.shape[1] else {
            throw TensorError.shapeMismatch("Linear.forward: x \(x.shape) and weight \(weight.shape) disagree; pass x [N, In] and weight [Out, In]")
        }
        let n = x.shape[0], out = weight.shape[0], inF = x.shape[1]
        var y = Tensor(zeros: [n, out])
        if let bias {
            guard bias.count == out else {
                throw TensorError.shapeMismatch("Linear.forward: bias has \(bias.count) values, weight has \(out) rows; pass a bias of [Out]")
            }
            for r in 0..<n { for o in 0..<out { y.data[r * out + o] = bias.data[o] } }
        }
        try backend.gemm(transA: false, transB: true, m: n, n: out, k: inF, alpha: 1,
                         a: x.data, b: weight.data, beta: bias == nil ? 0 : 1, c: &y.data)
        return y
    }

    /// Backward: accumulates dx += dy·W, dW += dyᵀ·x (skipped when `frozenWeight`), db += Σ dy.
    public static func backward(_ backend: Backend, dy: Tensor, x: Tensor, weight: Tensor,
                                dx: inout Tensor, dWeight: inout Tensor, dBias: inout Tensor?,
                                frozenWeight: Bool = false) throws {
        let n = x.shape[0], out = weight.shape[0], inF = x.shape[1]
        guard dy.shape == [n, out], dx.shape == x.shape else {
            throw TensorError.shapeMismatch("Linear.backward: dy \(dy.shape) / dx \(dx.shape) do not match x \(x.shape), weight \(weight.shape); pass dy [N, Out] and dx [N, In]")
        }
        try backend.gemm(transA: false, transB: false, m: n, n: inF, k: out, alpha: 1,
                         a: dy.data, b: weight.data, beta: 1, c: &dx.data)
        if !frozenWeight {
            try backend.gemm(transA: true, transB: false, m: out, n: inF, k: n, alpha: 1,
                             a: dy.data, b: x.data, beta: 1, c: &dWeight.data)
        }
        if dBias != nil {
            for r in 0..<n { for o in 0..<out { dBias!.data[o] += dy.data[r * out + o] } }
        }
    }

    /// Plain reference y = x·Wᵀ + b, generic so the Double version drives gradient checks.
    public static func reference<F: BinaryFloatingPoint>(x: [F], weight: [F], bias: [F]?, n: Int, inF: Int, out: Int) -> [F] {
        var y = [F](repeating: 0, count: n * out)
        for r in 0..<n {
            for o in 0..<out {
                var s: F = bias?[o] ?? 0
                for i in 0..<inF { s += x[r * inF + i] * weight[o * inF + i] }
                y[r * out + o] = s
            }
        }
        return y
    }
}
