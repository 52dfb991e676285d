import Foundation

/// A split with `datasets`' slicing syntax: `train`, `train[:1000]`, `train[10:20]`, `test[-10%:]`
/// (percent boundaries rounded to the closest row, as `ReadInstruction`'s default `rounding="closest"`).
public struct SplitSlice: Sendable, Equatable {
    public enum Bound: Sendable, Equatable { case rows(Int), percent(Int) }
    /// The split's name without the slice.
    public var name: String
    public var from: Bound?
    public var to: Bound?

    public init(_ spec: String) throws {
        let s = spec.trimmingCharacters(in: .whitespaces)
        guard let open = s.firstIndex(of: "[") else { name = s; return }
        guard s.hasSuffix("]") else { throw Self.invalid(spec) }
        name = String(s[..<open]).trimmingCharacters(in: .whitespaces)
        let inner = s[s.index(after: open)..<s.index(before: s.endIndex)]
        let parts = inner.split(separator: ":", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard !name.isEmpty, parts.count == 2 else { throw Self.invalid(spec) }
        func bound(_ t: String) throws -> Bound? {
            if t.isEmpty { return nil }
            if t.hasSuffix("%") {
                guard let p = Int(t.dropLast()), (-100...100).contains(p) else { throw Self.invalid(spec) }
                return .percent(p)
            }
            guard let n = Int(t) else { throw Self.invalid(spec) }
            return .rows(n)
        }
        from = try bound(parts[0])
        to = try bound(parts[1])
    }

    static func invalid(_ spec: String) -> DataError {
        DataError(location: "split '\(spec)'", reason: "not a split or slice",
                  fix: "write a split name, optionally sliced: train, train[:1000], train[10:20], train[:10%]")
    }

    /// The row range the slice keeps out of `count` rows (negative bounds count from the end).
    public func range(count: Int) -> Range<Int> {
        func index(_ b: Bound?, default d: Int) -> Int {
            guard let b else { return d }
            var i: Int
            switch b {
            case .rows(let n): i = n
            case .percent(let p): i = Int((Double(p) * Double(count) / 100).rounded(.toNearestOrEven))
            }
            if i < 0 { i += count }
            return min(max(i, 0), count)
        }
        let lo = index(from, default: 0), hi = index(to, default: count)
        return lo..<max(lo, hi)
    }

    public var isWhole: Bool { from == nil && to == nil }
}
