import OrderedCollections
import Values

/// A Python list: a reference, so that two names see the same list as in jinja2. Lists never change once made
/// (the sandbox forbids `append` and friends), so renders may share them.
final class ListBox {
    let elements: [JValue]
    /// Set only on the list whose prefixes a render also produces (PrefixRendering.swift): what the template
    /// learns of the list is reported there.
    var watch: PrefixWatch?

    init(_ items: [JValue]) { self.elements = items }

    /// The whole list; reading it tells a watch that the output may depend on the list's length.
    var items: [JValue] {
        watch?.readWhole = true
        return elements
    }

    /// `list[i]` with Python's index rules; a non-negative index tells a watch only that item `i` was read.
    func item(_ i: Int) -> JValue? {
        if let watch {
            if i < 0 { watch.readWhole = true } else { watch.highestIndexRead = max(watch.highestIndexRead, i) }
        }
        let j = i < 0 ? i + elements.count : i
        return (j >= 0 && j < elements.count) ? elements[j] : nil
    }
}

/// A Python dict or a jinja `namespace`, keyed by string and kept in insertion order.
final class DictBox { var items: OrderedDictionary<String, JValue>; init(_ items: OrderedDictionary<String, JValue>) { self.items = items } }

/// A callable value: a macro, a builtin global, or a bound method.
struct Callable {
    var name: String
    /// A method bound to a value (`d.get`), which a prefix render cannot carry over from another render.
    var boundToValue = false
    var call: (_ args: [JValue], _ kwargs: [(String, JValue)], _ interp: Interpreter, _ line: Int) throws -> JValue
}

/// jinja2's per-iteration `loop` object.
final class LoopState {
    var items: [JValue]
    var index0 = 0
    /// Set when the loop runs over a watched list: `length`, `last`, `revindex` and `nextitem` are reported.
    var watch: PrefixWatch?
    init(_ items: [JValue], watch: PrefixWatch? = nil) {
        self.items = items
        self.watch = watch
    }
}

/// The runtime value of the interpreter: JSON values plus the Python-only kinds templates meet
/// (undefined, tuples, namespaces, callables, the loop object).
enum JValue {
    /// jinja2's default `Undefined`; `hint` is the message an UndefinedError would carry.
    case undefined(String)
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case list(ListBox)
    case tuple([JValue])
    case dict(DictBox)
    case namespace(DictBox)
    case callable(Callable)
    case loop(LoopState)

    init(_ v: Value) {
        switch v {
        case .null: self = .none
        case .bool(let b): self = .bool(b)
        case .int(let i): self = .int(i)
        case .double(let d): self = .double(d)
        case .string(let s): self = .string(s)
        case .array(let a): self = .list(ListBox(a.map(JValue.init)))
        case .object(let o): self = .dict(DictBox(o.mapValues(JValue.init)))
        }
    }

    static func list(_ items: [JValue]) -> JValue { .list(ListBox(items)) }

    var isUndefined: Bool { if case .undefined = self { return true }; return false }

    /// Python truthiness.
    var truthy: Bool {
        switch self {
        case .undefined, .none: return false
        case .bool(let b): return b
        case .int(let i): return i != 0
        case .double(let d): return d != 0
        case .string(let s): return !s.isEmpty
        case .list(let l): return !l.items.isEmpty
        case .tuple(let t): return !t.isEmpty
        case .dict(let d): return !d.items.isEmpty
        case .namespace, .callable, .loop: return true
        }
    }

    /// The Python type name used in jinja2's error messages.
    var pyType: String {
        switch self {
        case .undefined: return "Undefined"
        case .none: return "NoneType"
        case .bool: return "bool"
        case .int: return "int"
        case .double: return "float"
        case .string: return "str"
        case .list: return "list"
        case .tuple: return "tuple"
        case .dict: return "dict"
        case .namespace: return "Namespace"
        case .callable: return "function"
        case .loop: return "LoopContext"
        }
    }

    /// Python `str()`, which is what `{{ }}` prints.
    var str: String {
        switch self {
        case .undefined: return ""
        case .string(let s): return s
        default: return repr
        }
    }

    /// Python `repr()`, used inside printed lists and dicts.
    var repr: String {
        switch self {
        case .undefined: return ""
        case .none: return "None"
        case .bool(let b): return b ? "True" : "False"
        case .int(let i): return String(i)
        case .double(let d): return JValue.pythonFloat(d)
        case .string(let s): return JValue.pythonRepr(s)
        case .list(let l): return "[" + l.items.map(\.repr).joined(separator: ", ") + "]"
        case .tuple(let t): return t.count == 1 ? "(\(t[0].repr),)" : "(" + t.map(\.repr).joined(separator: ", ") + ")"
        case .dict(let d): return "{" + d.items.map { "\(JValue.pythonRepr($0.key)): \($0.value.repr)" }.joined(separator: ", ") + "}"
        case .namespace(let d): return "<Namespace " + JValue.dict(d).repr + ">"
        case .callable(let c): return "<function \(c.name)>"
        case .loop: return "<LoopContext>"
        }
    }

    /// Python's float repr: shortest round-trip digits, exponent form below 1e-4 and from 1e16.
    static func pythonFloat(_ d: Double) -> String {
        if d.isNaN { return "nan" }
        if d.isInfinite { return d < 0 ? "-inf" : "inf" }
        if d == 0 { return d.sign == .minus ? "-0.0" : "0.0" }
        let desc = "\(d)"  // Swift also prints the shortest round-trip digits
        var mantissa = desc, exp = 0
        if let e = desc.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = String(desc[..<e])
            exp = Int(desc[desc.index(after: e)...]) ?? 0
        }
        let neg = mantissa.hasPrefix("-")
        if neg { mantissa.removeFirst() }
        var intPart = mantissa, frac = ""
        if let dot = mantissa.firstIndex(of: ".") { intPart = String(mantissa[..<dot]); frac = String(mantissa[mantissa.index(after: dot)...]) }
        var digits = intPart + frac
        var pointPos = intPart.count + exp
        while digits.hasPrefix("0") && digits.count > 1 { digits.removeFirst(); pointPos -= 1 }
        while digits.hasSuffix("0") && digits.count > 1 { digits.removeLast() }
        let decExp = pointPos - 1
        var out: String
        if decExp < -4 || decExp >= 16 {
            out = String(digits.first!)
            if digits.count > 1 { out += "." + digits.dropFirst() }
            out += (decExp < 0 ? "e-" : "e+") + (abs(decExp) < 10 ? "0" : "") + String(abs(decExp))
        } else if pointPos <= 0 {
            out = "0." + String(repeating: "0", count: -pointPos) + digits
        } else if pointPos >= digits.count {
            out = digits + String(repeating: "0", count: pointPos - digits.count) + ".0"
        } else {
            let idx = digits.index(digits.startIndex, offsetBy: pointPos)
            out = digits[..<idx] + "." + digits[idx...]
        }
        return neg ? "-" + out : out
    }

    /// Python's `repr()` of a str: single quotes unless the text has a `'` and no `"`.
    static func pythonRepr(_ s: String) -> String {
        let quote: Character = (s.contains("'") && !s.contains("\"")) ? "\"" : "'"
        var out = String(quote)
        for u in s.unicodeScalars {
            switch u {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if Character(u) == quote { out += "\\" + String(quote) }
                else if u.value < 0x20 || u.value == 0x7f { out += "\\x" + hex(u.value, 2) }
                else if u.value >= 0x80 && u.value < 0xa0 { out += "\\x" + hex(u.value, 2) }
                else { out.unicodeScalars.append(u) }
            }
        }
        out.append(quote)
        return out
    }

    static func hex(_ v: UInt32, _ width: Int) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: max(0, width - h.count)) + h
    }

    /// Converts back to a JSON value (for `tojson`); undefined and callables are not serializable.
    func toJSONValue() throws -> Value {
        switch self {
        case .undefined: throw JinjaError("Object of type Undefined is not JSON serializable")
        case .none: return .null
        case .bool(let b): return .bool(b)
        case .int(let i): return .int(i)
        case .double(let d): return .double(d)
        case .string(let s): return .string(s)
        case .list(let l): return .array(try l.items.map { try $0.toJSONValue() })
        case .tuple(let t): return .array(try t.map { try $0.toJSONValue() })
        case .dict(let d): return .object(try d.items.mapValues { try $0.toJSONValue() })
        case .namespace, .callable, .loop:
            throw JinjaError("Object of type \(pyType) is not JSON serializable")
        }
    }
}

/// Python `==`: numbers compare across int/float/bool, containers deeply, undefined equals undefined.
func pyEqual(_ a: JValue, _ b: JValue) -> Bool {
    switch (a, b) {
    case (.undefined, .undefined), (.none, .none): return true
    case (.string(let x), .string(let y)): return x == y
    case (.list(let x), .list(let y)): return x === y || (x.items.count == y.items.count && zip(x.items, y.items).allSatisfy(pyEqual))
    case (.tuple(let x), .tuple(let y)): return x.count == y.count && zip(x, y).allSatisfy(pyEqual)
    case (.dict(let x), .dict(let y)), (.namespace(let x), .namespace(let y)):
        if x === y { return true }
        guard x.items.count == y.items.count else { return false }
        for (k, v) in x.items { guard let w = y.items[k], pyEqual(v, w) else { return false } }
        return true
    default:
        if let x = a.number, let y = b.number { return x == y }
        return false
    }
}

extension JValue {
    /// A numeric view (bool counts as a number, as in Python).
    var number: Double? {
        switch self {
        case .int(let i): return Double(i)
        case .double(let d): return d
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }

    var intLike: Int? {
        switch self {
        case .int(let i): return i
        case .bool(let b): return b ? 1 : 0
        default: return nil
        }
    }
}
