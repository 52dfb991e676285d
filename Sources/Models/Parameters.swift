import TensorCore

/// One weight of the model under its HF checkpoint name, with its gradient when it trains.
public final class Parameter: @unchecked Sendable {
    public let name: String
    public var value: Tensor
    public private(set) var grad: Tensor?
    /// transformers' rule: no weight decay on biases and norm weights.
    public let decays: Bool
    /// GPT-2's Conv1D keeps [in, out] in the checkpoint; sftrun keeps every matrix as [out, in].
    public let transposedInCheckpoint: Bool

    public init(name: String, shape: [Int], decays: Bool, transposedInCheckpoint: Bool = false) {
        self.name = name
        // Page-backed: a weight takes memory only once loaded, so a quantizing loader never holds the whole model in float32.
        self.value = Tensor(zeros: shape, pageBacked: true)
        self.decays = decays
        self.transposedInCheckpoint = transposedInCheckpoint
    }

    public var trainable: Bool { grad != nil }

    /// Turns training on (allocates a zero gradient) or off (frees it).
    public func setTrainable(_ on: Bool) {
        if on, grad == nil { grad = Tensor(zeros: value.shape) }
        if !on { grad = nil }
    }

    /// The shape as stored in an HF checkpoint.
    public var checkpointShape: [Int] { transposedInCheckpoint ? value.shape.reversed() : value.shape }
}

/// All parameters in registration order (the order transformers' state dict uses).
public final class ParameterSet: @unchecked Sendable {
    public private(set) var all: [Parameter] = []
    private var byName: [String: Parameter] = [:]

    public init() {}

    @discardableResult
    public func add(_ name: String, _ shape: [Int], decays: Bool = true, transposedInCheckpoint: Bool = false) -> Parameter {
        precondition(byName[name] == nil, "parameter \(name) registered twice")
        let p = Parameter(name: name, shape: shape, decays: decays, transposedInCheckpoint: transposedInCheckpoint)
        all.append(p)
        byName[name] = p
        return p
    }

    public subscript(name: String) -> Parameter? { byName[name] }

    public var trainable: [Parameter] { all.filter(\.trainable) }

    public func zeroGradients() { for p in all { p.grad?.zero() } }

    public var count: Int { all.reduce(0) { $0 + $1.value.count } }
}
