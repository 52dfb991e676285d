import Foundation
import OrderedCollections

/// Builtin behaviour of jinja2 under transformers: operators, lookups, globals, filters, tests, methods.
enum Builtins {
    /// Python `+ - * / // % ** ~` with Python's numeric rules (int stays int; `/` is float division).
    static func binary(_ op: String, _ x: JValue, _ y: JValue) throws -> JValue {
        if op == "~" { return .string(x.str + y.str) }
        if case .undefined(let h) = x { throw JinjaError(h) }
        if case .undefined(let h) = y { throw JinjaError(h) }
        switch (op, x, y) {
        case ("+", .string(let a), .string(let b)): return .string(a + b)
        case ("+", .list(let a), .list(let b)): return .list(a.items + b.items)
        case ("+", .tuple(let a), .tuple(let b)): return .tuple(a + b)
        case ("*", .string(let a), _) where y.intLike != nil: return .string(String(repeating: a, count: try repeatCount(a.utf8.count, y.intLike!)))
        case ("*", _, .string(let b)) where x.intLike != nil: return .string(String(repeating: b, count: try repeatCount(b.utf8.count, x.intLike!)))
        case ("*", .list(let a), _) where y.intLike != nil:
            return .list(Array(repeating: a.items, count: try repeatCount(a.items.count, y.intLike!)).flatMap { $0 })
        default: break
        }
        if op == "%", case .string(let fmt) = x { return .string(try percentFormat(fmt, y)) }
        if op == "+", case .string = x { throw JinjaError("can only concatenate str (not \"\(y.pyType)\") to str") }
        if op == "+", case .list = x { throw JinjaError("can only concatenate list (not \"\(y.pyType)\") to list") }
        let typeError = JinjaError("unsupported operand type(s) for \(op): '\(x.pyType)' and '\(y.pyType)'")
        if let a = x.intLike, let b = y.intLike {
            switch op {
            case "+": return .int(try checked(a.addingReportingOverflow(b)))
            case "-": return .int(try checked(a.subtractingReportingOverflow(b)))
            case "*": return .int(try checked(a.multipliedReportingOverflow(by: b)))
            case "/":
                guard b != 0 else { throw JinjaError("division by zero") }
                return .double(Double(a) / Double(b))
            case "//":
                guard b != 0 else { throw JinjaError("integer division or modulo by zero") }
                let q = a / b
                return .int((a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q)
            case "%":
                guard b != 0 else { throw JinjaError("integer division or modulo by zero") }
                let r = a % b
                return .int(r != 0 && ((r < 0) != (b < 0)) ? r + b : r)
            case "**":
                if b >= 0 {
                    var r = 1, base = a, e = b
                    while e > 0 {
                        if e & 1 == 1 { r = try checked(r.multipliedReportingOverflow(by: base)) }
                        e >>= 1
                        if e > 0 { base = try checked(base.multipliedReportingOverflow(by: base)) }
                    }
                    return .int(r)
                }
                return .double(pow(Double(a), Double(b)))
            default: throw typeError
            }
        }
        guard let a = x.number, let b = y.number else { throw typeError }
        switch op {
        case "+": return .double(a + b)
        case "-": return .double(a - b)
        case "*": return .double(a * b)
        case "/":
            guard b != 0 else { throw JinjaError("float division by zero") }
            return .double(a / b)
        case "//":
            guard b != 0 else { throw JinjaError("float floor division by zero") }
            return .double((a / b).rounded(.down))
        case "%":
            guard b != 0 else { throw JinjaError("float modulo") }
            let r = fmod(a, b)
            return .double(r != 0 && ((r < 0) != (b < 0)) ? r + b : r)
        case "**": return .double(pow(a, b))
        default: throw typeError
        }
    }

    /// Python ints are unbounded; ours are 64-bit, so an overflow is an error rather than a wrong number.
    static func checked(_ r: (partialValue: Int, overflow: Bool)) throws -> Int {
        guard !r.overflow else { throw JinjaError("integer result does not fit in 64 bits; use smaller numbers or floats") }
        return r.partialValue
    }

    /// A repetition count for `str * n` / `list * n`, refusing results too large to hold in memory.
    static func repeatCount(_ unit: Int, _ n: Int) throws -> Int {
        let count = max(0, n)
        guard unit == 0 || count <= 100_000_000 / unit else {
            throw JinjaError("repetition would produce over 100 MB of output; repeat fewer times")
        }
        return count
    }

    /// Exact `Int` of a finite double in range (Python's `int()` truncation); nil otherwise.
    static func truncatedInt(_ d: Double) -> Int? {
        guard d.isFinite, abs(d) < 9.2e18 else { return nil }
        return Int(d.rounded(.towardZero))
    }

    /// Python `'%s and %d' % args` printf-style formatting for the conversions templates use (s, r, d, i, f, %).
    static func percentFormat(_ fmt: String, _ args: JValue) throws -> String {
        var items: [JValue]
        if case .tuple(let t) = args { items = t } else { items = [args] }
        var out = ""
        var it = Array(fmt).makeIterator()
        while let c = it.next() {
            guard c == "%" else { out.append(c); continue }
            guard let conv = it.next() else { throw JinjaError("incomplete format") }
            if conv == "%" { out += "%"; continue }
            guard !items.isEmpty else { throw JinjaError("not enough arguments for format string") }
            let v = items.removeFirst()
            switch conv {
            case "s": out += v.str
            case "r": out += v.repr
            case "d", "i":
                guard let n = v.number else { throw JinjaError("%\(conv) format: a real number is required, not \(v.pyType)") }
                guard let i = truncatedInt(n) else { throw JinjaError("cannot convert float \(n) to integer") }
                out += String(i)
            case "f":
                guard let n = v.number else { throw JinjaError("must be real number, not \(v.pyType)") }
                out += String(format: "%f", n)
            default: throw JinjaError("unsupported format character '\(conv)'")
            }
        }
        if !items.isEmpty { throw JinjaError("not all arguments converted during string formatting") }
        return out
    }

    static func compare(_ op: String, _ x: JValue, _ y: JValue) throws -> Bool {
        switch op {
        case "==": return pyEqual(x, y)
        case "!=": return !pyEqual(x, y)
        case "in": return try contains(y, x)
        case "notin": return !(try contains(y, x))
        default: break
        }
        let c: Int
        switch (x, y) {
        case (.string(let a), .string(let b)): c = a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) ? -1 : (a == b ? 0 : 1)
        default:
            guard let a = x.number, let b = y.number else {
                if case .undefined(let h) = x { throw JinjaError(h) }
                if case .undefined(let h) = y { throw JinjaError(h) }
                throw JinjaError("'\(op)' not supported between instances of '\(x.pyType)' and '\(y.pyType)'")
            }
            c = a < b ? -1 : (a == b ? 0 : 1)
        }
        switch op {
        case "<": return c < 0
        case ">": return c > 0
        case "<=": return c <= 0
        default: return c >= 0
        }
    }

    static func contains(_ container: JValue, _ x: JValue) throws -> Bool {
        switch container {
        case .string(let s):
            guard case .string(let sub) = x else { throw JinjaError("'in <string>' requires string as left operand, not \(x.pyType)") }
            return sub.isEmpty || s.contains(sub)
        case .list(let l): return l.items.contains { pyEqual($0, x) }
        case .tuple(let t): return t.contains { pyEqual($0, x) }
        case .dict(let d), .namespace(let d):
            if case .string(let k) = x { return d.items[k] != nil }
            return false
        case .undefined: return false
        default: throw JinjaError("argument of type '\(container.pyType)' is not iterable")
        }
    }

    /// Python-style index normalisation for strings and lists (negative counts from the end).
    static func index(_ i: Int, _ count: Int) -> Int? {
        let j = i < 0 ? i + count : i
        return (j >= 0 && j < count) ? j : nil
    }

    /// `obj.name`: attribute (method) first, then item — jinja2 `Environment.getattr`.
    static func getAttr(_ obj: JValue, _ name: String) throws -> JValue {
        if case .undefined(let h) = obj { throw JinjaError(h) }
        if let m = try method(obj, name) { return m }
        switch obj {
        case .dict(let d), .namespace(let d):
            if let v = d.items[name] { return v }
            if case .namespace = obj { return .undefined("'Namespace' has no attribute '\(name)'") }
            return .undefined("'dict object' has no attribute '\(name)'")
        case .loop(let st): return loopAttr(st, name)
        default: return .undefined("'\(obj.pyType) object' has no attribute '\(name)'")
        }
    }

    /// `obj[key]`: item first, then attribute — jinja2 `Environment.getitem`.
    static func getItem(_ obj: JValue, _ key: JValue) throws -> JValue {
        switch (obj, key) {
        case (.undefined(let h), _): throw JinjaError(h)
        case (.dict(let d), .string(let k)), (.namespace(let d), .string(let k)):
            if let v = d.items[k] { return v }
        case (.list(let l), _) where key.intLike != nil:
            if let v = l.item(key.intLike!) { return v }
            return .undefined("list object has no element \(key.intLike!)")
        case (.tuple(let t), _) where key.intLike != nil:
            if let j = index(key.intLike!, t.count) { return t[j] }
            return .undefined("tuple object has no element \(key.intLike!)")
        case (.string(let s), _) where key.intLike != nil:
            let u = Array(s.unicodeScalars)
            if let j = index(key.intLike!, u.count) { return .string(String(u[j])) }
            return .undefined("str object has no element \(key.intLike!)")
        case (.loop(let st), .string(let k)): return loopAttr(st, k)
        default: break
        }
        if case .string(let k) = key, let m = try method(obj, k) { return m }
        if case .dict = obj { return .undefined("'dict object' has no attribute \(key.repr)") }
        return .undefined("'\(obj.pyType) object' has no attribute \(key.repr)")
    }

    static func loopAttr(_ st: LoopState, _ name: String) -> JValue {
        let n = st.items.count, i = st.index0
        if let w = st.watch {
            switch name {
            case "revindex", "revindex0", "last", "length": w.readWhole = true
            case "nextitem": w.highestIndexRead = max(w.highestIndexRead, i + 1)
            default: break
            }
        }
        switch name {
        case "index0": return .int(i)
        case "index": return .int(i + 1)
        case "revindex": return .int(n - i)
        case "revindex0": return .int(n - i - 1)
        case "first": return .bool(i == 0)
        case "last": return .bool(i == n - 1)
        case "length": return .int(n)
        case "depth": return .int(1)
        case "depth0": return .int(0)
        case "previtem": return i > 0 ? st.items[i - 1] : .undefined("there is no previous item")
        case "nextitem": return i + 1 < n ? st.items[i + 1] : .undefined("there is no next item")
        case "cycle":
            return .callable(Callable(name: "cycle") { args, _, _, _ in
                guard !args.isEmpty else { throw JinjaError("no items for cycling given; pass at least one value to loop.cycle") }
                return args[i % args.count]
            })
        default: return .undefined("'LoopContext object' has no attribute '\(name)'")
        }
    }

    /// Python slicing `obj[a:b:c]` for lists, tuples and strings.
    static func slice(_ obj: JValue, _ a: JValue?, _ b: JValue?, _ c: JValue?) throws -> JValue {
        func bound(_ v: JValue?) throws -> Int? {
            guard let v else { return nil }
            switch v {
            case .none, .undefined: return nil
            default:
                guard let i = v.intLike else { throw JinjaError("slice indices must be integers or None") }
                return i
            }
        }
        let step = try bound(c) ?? 1
        guard step != 0 else { throw JinjaError("slice step cannot be zero") }
        func indices(_ n: Int) throws -> [Int] {
            func norm(_ v: Int?, _ def: Int) -> Int {
                guard var x = v else { return def }
                if x < 0 { x += n }
                if step > 0 { return min(max(x, 0), n) }
                return min(max(x, -1), n - 1)
            }
            let start = norm(try bound(a), step > 0 ? 0 : n - 1)
            let stop = norm(try bound(b), step > 0 ? n : -1)
            var out: [Int] = []
            var k = start
            while step > 0 ? k < stop : k > stop { out.append(k); k += step }
            return out
        }
        switch obj {
        case .list(let l): return .list(try indices(l.items.count).map { l.items[$0] })
        case .tuple(let t): return .tuple(try indices(t.count).map { t[$0] })
        case .string(let s):
            let u = Array(s.unicodeScalars)
            var r = String.UnicodeScalarView()
            for k in try indices(u.count) { r.append(u[k]) }
            return .string(String(r))
        case .undefined(let h): throw JinjaError(h)
        default: throw JinjaError("'\(obj.pyType)' object is not subscriptable")
        }
    }
}
