/// A float32 tensor with contiguous row-major storage; the unit every op reads and writes.
public struct Tensor: Sendable {
    /// Dimensions, outermost first (e.g. [B, T, C]).
    public var shape: [Int]
    /// Row-major values; `count == shape.reduce(1, *)`.
    public var data: [Float]

    /// Creates a tensor of zeros, the starting point for accumulated gradients.
    public init(zeros shape: [Int]) {
        self.shape = shape
        self.data = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    /// Wraps existing values; throws when the count does not match the shape.
    public init(shape: [Int], data: [Float]) throws {
        let n = shape.reduce(1, *)
        guard n == data.count else {
            throw TensorError.shapeMismatch("Tensor(shape: \(shape)) needs \(n) values but got \(data.count); pass data of the shape's size")
        }
        self.shape = shape
        self.data = data
    }

    /// Number of elements.
    public var count: Int { data.count }
}

/// Errors from tensor ops, each naming the fix.
public enum TensorError: Error, CustomStringConvertible, Equatable {
    case shapeMismatch(String)
    case unavailable(String)

    public var description: String {
        switch self {
        case .shapeMismatch(let m), .unavailable(let m): return m
        }
    }
}
