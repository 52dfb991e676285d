/// Keys and values of every attention layer for the positions decoded so far (keys after rotary), so a new
/// token attends to them instead of recomputing the prefix. One sequence (batch 1). Each layer appends its rows
/// while a forward runs; `commit` then records the tokens, so `count` is the number of positions stored.
public final class KVCache {
    public let layers: Int
    /// Values per position in one layer: kvHeads × headDim.
    public let width: Int
    var keys: [[Float]], values: [[Float]]
    /// The token ids whose keys and values are stored, in order (chat turns reuse the longest common prefix).
    public private(set) var tokens: [Int32] = []

    public init(layers: Int, width: Int) {
        self.layers = layers
        self.width = width
        keys = Array(repeating: [], count: layers)
        values = Array(repeating: [], count: layers)
    }

    /// Positions stored (and the position of the next token).
    public var count: Int { tokens.count }

    /// Forgets every position from `length` on.
    public func truncate(to length: Int) {
        let n = max(0, min(length, count))
        tokens.removeLast(count - n)
        for l in 0..<layers {
            keys[l].removeLast(keys[l].count - n * width)
            values[l].removeLast(values[l].count - n * width)
        }
    }

    public func reset() { truncate(to: 0) }

    /// How many leading ids of `ids` are already stored.
    public func commonPrefix(with ids: [Int32]) -> Int {
        var n = 0
        while n < min(ids.count, count) && ids[n] == tokens[n] { n += 1 }
        return n
    }

    /// Adds `rows` positions of one layer's keys and values ([rows, width] each).
    func append(layer: Int, keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>, rows: Int) {
        keys[layer].append(contentsOf: UnsafeBufferPointer(start: k, count: rows * width))
        values[layer].append(contentsOf: UnsafeBufferPointer(start: v, count: rows * width))
    }

    /// Records the tokens of a finished forward, whose rows every layer has appended.
    func commit(_ ids: [Int32]) { tokens += ids }
}
