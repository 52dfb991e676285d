import OrderedCollections

/// A JSON-like value whose objects keep their keys in source order.
///
/// Recipes (YAML), tokenizer files, safetensors headers and Hub API replies all decode into this one type,
/// so validation, merging and printing are written once.
public enum Value: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([Value])
    case object(OrderedDictionary<String, Value>)

    /// The JSON-Schema name of this value's type (`integer` for ints, `number` for doubles).
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int: return "integer"
        case .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var arrayValue: [Value]? { if case .array(let a) = self { return a }; return nil }
    public var objectValue: OrderedDictionary<String, Value>? { if case .object(let o) = self { return o }; return nil }
    public var isNull: Bool { if case .null = self { return true }; return false }

    /// An integer, also from a double that holds a whole number (JSON writers differ on `1` vs `1.0`).
    public var intValue: Int? {
        switch self {
        case .int(let i): return i
        case .double(let d) where d.rounded() == d && abs(d) < 9.0e15: return Int(d)
        default: return nil
        }
    }

    /// A number as Double, from an int or a double.
    public var doubleValue: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        default: return nil
        }
    }

    /// Member of an object, or nil for a missing key or a non-object.
    public subscript(key: String) -> Value? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    /// Element of an array, or nil when out of range or not an array.
    public subscript(index: Int) -> Value? {
        if case .array(let a) = self, a.indices.contains(index) { return a[index] }
        return nil
    }
}

extension Value: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(arrayLiteral elements: Value...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, Value)...) {
        self = .object(OrderedDictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    public init(nilLiteral: ()) { self = .null }
}

/// One step of a path into a value: an object key or an array index.
public enum PathComponent: Hashable, Sendable, CustomStringConvertible {
    case key(String)
    case index(Int)

    public var description: String {
        switch self {
        case .key(let k): return k
        case .index(let i): return "[\(i)]"
        }
    }
}

/// A path such as `training.learning_rate` or `data.train[0].path`.
public typealias ValuePath = [PathComponent]

extension Array where Element == PathComponent {
    /// Dotted form used in messages: `data.train[0].path`; the empty path prints as `(root)`.
    public var dotted: String {
        if isEmpty { return "(root)" }
        var out = ""
        for c in self {
            switch c {
            case .key(let k): out += out.isEmpty ? k : ".\(k)"
            case .index(let i): out += "[\(i)]"
            }
        }
        return out
    }

    /// Parses `a.b[2].c` into components.
    public init(dotted: String) {
        var result: [PathComponent] = []
        for part in dotted.split(separator: ".", omittingEmptySubsequences: false) {
            var name = Substring(part)
            var indices: [Int] = []
            while name.hasSuffix("]"), let open = name.lastIndex(of: "["),
                  let i = Int(name[name.index(after: open)..<name.index(before: name.endIndex)]) {
                indices.insert(i, at: 0)
                name = name[..<open]
            }
            result.append(.key(String(name)))
            result += indices.map { .index($0) }
        }
        self = result
    }
}

extension Value {
    /// The value at `path`, or nil if any step is missing.
    public func value(at path: ValuePath) -> Value? {
        var current = self
        for c in path {
            switch c {
            case .key(let k): guard let next = current[k] else { return nil }; current = next
            case .index(let i): guard let next = current[i] else { return nil }; current = next
            }
        }
        return current
    }

    /// Sets the value at `path`, creating objects along the way. Fails (returns false) if a step goes
    /// through a non-object or an array index out of range.
    @discardableResult
    public mutating func setValue(_ newValue: Value, at path: ValuePath) -> Bool {
        guard let first = path.first else { self = newValue; return true }
        let rest = Array(path.dropFirst())
        switch first {
        case .key(let k):
            if isNull { self = .object([:]) }
            guard case .object(var o) = self else { return false }
            var child = o[k] ?? .null
            guard child.setValue(newValue, at: rest) else { return false }
            o[k] = child
            self = .object(o)
            return true
        case .index(let i):
            guard case .array(var a) = self, a.indices.contains(i) else { return false }
            guard a[i].setValue(newValue, at: rest) else { return false }
            self = .array(a)
            return true
        }
    }

    /// Deep merge: objects merge key by key (`other` wins), everything else — lists included — is replaced.
    public func merged(with other: Value) -> Value {
        guard case .object(var base) = self, case .object(let top) = other else { return other }
        for (k, v) in top {
            base[k] = base[k].map { $0.merged(with: v) } ?? v
        }
        return .object(base)
    }
}

extension PathComponent: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public init(stringLiteral value: String) { self = .key(value) }
    public init(integerLiteral value: Int) { self = .index(value) }
}

extension Value: Hashable {
    public func hash(into hasher: inout Hasher) {
        switch self {
        case .null: hasher.combine(0)
        case .bool(let b): hasher.combine(b)
        case .int(let i): hasher.combine(i)
        case .double(let d): hasher.combine(d)
        case .string(let s): hasher.combine(s)
        case .array(let a): hasher.combine(a)
        case .object(let o): for (k, v) in o { hasher.combine(k); hasher.combine(v) }
        }
    }
}
