import Foundation
import OrderedCollections
import Values

/// jinja2's builtin filters (filters.py, 3.1) plus transformers' `tojson` override.
extension Builtins {
    static func kw(_ a: [JValue], _ k: [(String, JValue)], _ i: Int, _ name: String) -> JValue? { arg(a, k, i, name) }

    static func listOf(_ v: JValue, _ interp: Interpreter) throws -> [JValue] { try interp.iterate(v) }

    /// `attribute="a.b"` or an integer path, as jinja2 `make_attrgetter`.
    static func attrGetter(_ path: JValue) -> (JValue) throws -> JValue {
        let parts: [JValue]
        if case .string(let s) = path {
            parts = s.split(separator: ".").map { Int($0).map { JValue.int($0) } ?? .string(String($0)) }
        } else { parts = [path] }
        return { v in
            var x = v
            for p in parts { x = try getItem(x, p) }
            return x
        }
    }

    static func filter(_ name: String, _ v: JValue, _ a: [JValue], _ k: [(String, JValue)], _ interp: Interpreter, _ line: Int) throws -> JValue {
        switch name {
        case "trim":
            return .string(strip(v.str, leading: true, trailing: true, stripChars(a, k)))
        case "upper": return .string(v.str.uppercased())
        case "lower": return .string(v.str.lowercased())
        case "capitalize": return .string(pyCapitalize(v.str))
        case "title": return .string(jinjaTitle(v.str))
        case "safe", "string":
            return .string(v.str)
        case "e", "escape", "forceescape":
            return .string(v.str.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&#34;").replacingOccurrences(of: "'", with: "&#39;"))
        case "length", "count":
            switch v {
            case .string(let s): return .int(s.unicodeScalars.count)
            case .list(let l): return .int(l.items.count)
            case .tuple(let t): return .int(t.count)
            case .dict(let d): return .int(d.items.count)
            case .undefined: return .int(0)
            default: throw JinjaError("object of type '\(v.pyType)' has no len()")
            }
        case "first":
            if case .undefined(let h) = v { throw JinjaError(h) }
            return try listOf(v, interp).first ?? .undefined("No first item, sequence was empty.")
        case "last":
            if case .undefined(let h) = v { throw JinjaError(h) }
            return try listOf(v, interp).last ?? .undefined("No last item, sequence was empty.")
        case "list": return .list(try listOf(v, interp))
        case "join":
            var items = try listOf(v, interp)
            if let attr = kw([], k, 0, "attribute") { items = try items.map(attrGetter(attr)) }
            let sep = kw(a, k, 0, "d")?.str ?? ""
            return .string(items.map(\.str).joined(separator: sep))
        case "default", "d":
            let def = kw(a, k, 0, "default_value") ?? .string("")
            let boolean = kw(a, k, 1, "boolean")?.truthy ?? false
            if v.isUndefined || (boolean && !v.truthy) { return def }
            return v
        case "tojson": return .string(try tojson(v, a, k))
        case "replace":
            guard let old = kw(a, k, 0, "old"), let new = kw(a, k, 1, "new") else { throw JinjaError("replace needs 'old' and 'new' arguments") }
            return .string(pyReplace(v.str, old.str, new.str, kw(a, k, 2, "count")?.intLike ?? -1))
        case "items":
            switch v {
            case .undefined: return .list([])
            case .dict(let d): return .list(d.items.map { .tuple([.string($0.key), $0.value]) })
            default: throw JinjaError("Can only get item pairs from a mapping.")
            }
        case "selectattr", "rejectattr":
            guard let attr = a.first else { throw JinjaError("\(name) needs an attribute name") }
            let get = attrGetter(attr)
            let want = name == "selectattr"
            return .list(try listOf(v, interp).filter { item in
                let x = try get(item)
                let r = a.count > 1 ? try test(a[1].str, x, Array(a.dropFirst(2))) : x.truthy
                return r == want
            })
        case "select", "reject":
            let want = name == "select"
            return .list(try listOf(v, interp).filter { item in
                let r = a.isEmpty ? item.truthy : try test(a[0].str, item, Array(a.dropFirst()))
                return r == want
            })
        case "map":
            let items = try listOf(v, interp)
            if let attr = k.first(where: { $0.0 == "attribute" })?.1 {
                let get = attrGetter(attr)
                let def = k.first(where: { $0.0 == "default" })?.1
                return .list(try items.map { x in
                    let r = try get(x)
                    if r.isUndefined, let def { return def }
                    return r
                })
            }
            guard let fname = a.first?.str else { throw JinjaError("map needs a filter name or attribute=") }
            return .list(try items.map { try filter(fname, $0, Array(a.dropFirst()), k, interp, line) })
        case "indent":
            let width = kw(a, k, 0, "width") ?? .int(4)
            let first = kw(a, k, 1, "first")?.truthy ?? false
            let blank = kw(a, k, 2, "blank")?.truthy ?? false
            let ind: String
            if case .string(let s) = width { ind = s } else { ind = String(repeating: " ", count: width.intLike ?? 4) }
            var s = v.str
            let lines = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            var out = lines.first ?? ""
            for l in lines.dropFirst() {
                out += "\n"
                out += (blank || !l.allSatisfy({ $0.isWhitespace })) ? ind + l : l
            }
            if first { out = ind + out }
            s = out
            return .string(s)
        case "int":
            let def = kw(a, k, 0, "default") ?? .int(0)
            switch v {
            case .int: return v
            case .bool(let b): return .int(b ? 1 : 0)
            case .double(let d): return truncatedInt(d).map { .int($0) } ?? def
            case .string(let s):
                let t = s.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "_", with: "")
                if let i = Int(t) { return .int(i) }
                if let d = Double(t), let i = truncatedInt(d) { return .int(i) }
                return def
            default: return def
            }
        case "float":
            let def = kw(a, k, 0, "default") ?? .double(0)
            switch v {
            case .int, .bool, .double: return .double(v.number!)
            case .string(let s): return Double(s.trimmingCharacters(in: .whitespaces)).map { .double($0) } ?? def
            default: return def
            }
        case "abs":
            switch v {
            case .int(let i): return .int(abs(i))
            case .double(let d): return .double(abs(d))
            case .bool(let b): return .int(b ? 1 : 0)
            default: throw JinjaError("bad operand type for abs(): '\(v.pyType)'")
            }
        case "round":
            let prec = kw(a, k, 0, "precision")?.intLike ?? 0
            let method = kw(a, k, 1, "method")?.str ?? "common"
            guard let x = v.number else { throw JinjaError("type \(v.pyType) doesn't define __round__ method") }
            let m = pow(10.0, Double(prec))
            switch method {
            case "common":
                if case .int = v, prec >= 0 { return v }
                return .double((x * m).rounded(.toNearestOrEven) / m)
            case "floor": return .double((x * m).rounded(.down) / m)
            case "ceil": return .double((x * m).rounded(.up) / m)
            default: throw JinjaError("method must be common, ceil or floor")
            }
        case "unique":
            var seen: [JValue] = []
            let cs = kw(a, k, 0, "case_sensitive")?.truthy ?? false
            let get: ((JValue) throws -> JValue)? = kw([], k, 0, "attribute").map(attrGetter)
            var out: [JValue] = []
            for item in try listOf(v, interp) {
                var key = try get?(item) ?? item
                if !cs, case .string(let s) = key { key = .string(s.lowercased()) }
                if !seen.contains(where: { pyEqual($0, key) }) { seen.append(key); out.append(item) }
            }
            return .list(out)
        case "sort":
            let reverse = kw(a, k, 0, "reverse")?.truthy ?? false
            let cs = kw(a, k, 1, "case_sensitive")?.truthy ?? false
            let get: ((JValue) throws -> JValue)? = kw(a, k, 2, "attribute").map(attrGetter)
            let items = try listOf(v, interp)
            var keyed = try items.map { item -> (JValue, JValue) in
                var key = try get?(item) ?? item
                if !cs, case .string(let s) = key { key = .string(s.lowercased()) }
                return (key, item)
            }
            var err: Error?
            keyed = mergeSort(keyed) { x, y in
                do { return try compare("<", x.0, y.0) } catch { err = error; return false }
            }
            if let err { throw err }
            if reverse { keyed = stableReverse(keyed) }
            return .list(keyed.map(\.1))
        case "reverse":
            if case .string(let s) = v { return .string(String(String.UnicodeScalarView(s.unicodeScalars.reversed()))) }
            return .list(try listOf(v, interp).reversed())
        case "batch":
            guard let n = a.first?.intLike, n > 0 else { throw JinjaError("batch needs a positive size") }
            let fill = kw(a, k, 1, "fill_with")
            var out: [JValue] = [], cur: [JValue] = []
            for x in try listOf(v, interp) {
                cur.append(x)
                if cur.count == n { out.append(.list(cur)); cur = [] }
            }
            if !cur.isEmpty {
                if let fill { while cur.count < n { cur.append(fill) } }
                out.append(.list(cur))
            }
            return .list(out)
        case "sum":
            var total: JValue = kw(a, k, 1, "start") ?? .int(0)
            var items = try listOf(v, interp)
            if let attr = kw(a, k, 0, "attribute") { items = try items.map(attrGetter(attr)) }
            for x in items { total = try binary("+", total, x) }
            return total
        case "min", "max":
            let items = try listOf(v, interp)
            guard var best = items.first else { return .undefined("No aggregated item, sequence was empty.") }
            for x in items.dropFirst() where try compare(name == "min" ? "<" : ">", x, best) { best = x }
            return best
        case "wordcount": return .int(v.str.split(whereSeparator: { $0.isWhitespace }).count)
        case "center":
            let w = kw(a, k, 0, "width")?.intLike ?? 80
            let s = v.str
            let n = s.unicodeScalars.count
            guard w > n else { return .string(s) }
            let total = w - n
            let left = total / 2 + (total & w & 1)
            return .string(String(repeating: " ", count: left) + s + String(repeating: " ", count: total - left))
        case "dictsort":
            guard case .dict(let d) = v else { throw JinjaError("dictsort needs a mapping") }
            let pairs = mergeSort(Array(d.items)) { $0.key.lowercased() < $1.key.lowercased() }
            return .list(pairs.map { .tuple([.string($0.key), $0.value]) })
        default:
            throw JinjaError("No filter named '\(name)'; use one of jinja2's builtin filters")
        }
    }

    /// jinja2 `do_title`: capitalizes words split on whitespace and `-([{<`.
    static func jinjaTitle(_ s: String) -> String {
        var out = ""
        var atStart = true
        for ch in s {
            if ch.isWhitespace || "-([{<".contains(ch) { out.append(ch); atStart = true; continue }
            out += atStart ? ch.uppercased() : ch.lowercased()
            atStart = false
        }
        return out
    }

    static func stableReverse<T>(_ xs: [T]) -> [T] { Array(xs.reversed()) }

    /// Stable sort (Python's `sorted` is stable; Swift's `sort` is not guaranteed to be).
    static func mergeSort<T>(_ xs: [T], _ less: (T, T) -> Bool) -> [T] {
        guard xs.count > 1 else { return xs }
        let mid = xs.count / 2
        let l = mergeSort(Array(xs[..<mid]), less), r = mergeSort(Array(xs[mid...]), less)
        var out: [T] = []
        out.reserveCapacity(xs.count)
        var i = 0, j = 0
        while i < l.count && j < r.count {
            if less(r[j], l[i]) { out.append(r[j]); j += 1 } else { out.append(l[i]); i += 1 }
        }
        out += l[i...]
        out += r[j...]
        return out
    }

    /// transformers' `tojson`: `json.dumps(x, ensure_ascii=False, indent=indent, separators=separators, sort_keys=sort_keys)`.
    static func tojson(_ v: JValue, _ a: [JValue], _ k: [(String, JValue)]) throws -> String {
        let ensureASCII = kw(a, k, 0, "ensure_ascii")?.truthy ?? false
        let indentV = kw(a, k, 1, "indent")
        var indent: String?
        switch indentV {
        case .int(let n)?: indent = String(repeating: " ", count: max(0, n))
        case .string(let s)?: indent = s
        default: indent = nil
        }
        var itemSep = indent == nil ? ", " : ",", keySep = ": "
        if let seps = kw(a, k, 2, "separators"), case let parts = (try? Interpreter(context: [:]).iterate(seps)) ?? [], parts.count == 2 {
            itemSep = parts[0].str
            keySep = parts[1].str
        }
        let sortKeys = kw(a, k, 3, "sort_keys")?.truthy ?? false
        var out = ""
        try dumpJSON(v, into: &out, indent: indent, level: 0, itemSep: itemSep, keySep: keySep, sortKeys: sortKeys, ascii: ensureASCII)
        return out
    }

    static func dumpJSON(_ v: JValue, into out: inout String, indent: String?, level: Int, itemSep: String, keySep: String,
                         sortKeys: Bool, ascii: Bool) throws {
        func newline(_ l: Int) {
            if let indent { out += "\n" + String(repeating: indent, count: l) }
        }
        switch v {
        case .none: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .int(let i): out += String(i)
        case .double(let d):
            if d.isNaN { out += "NaN" } else if d.isInfinite { out += d < 0 ? "-Infinity" : "Infinity" } else { out += JValue.pythonFloat(d) }
        case .string(let s): jsonString(s, into: &out, ascii: ascii)
        case .list, .tuple:
            let items: [JValue]
            if case .list(let l) = v { items = l.items } else if case .tuple(let t) = v { items = t } else { items = [] }
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, x) in items.enumerated() {
                if i > 0 { out += itemSep }
                newline(level + 1)
                try dumpJSON(x, into: &out, indent: indent, level: level + 1, itemSep: itemSep, keySep: keySep, sortKeys: sortKeys, ascii: ascii)
            }
            newline(level)
            out += "]"
        case .dict(let d):
            if d.items.isEmpty { out += "{}"; return }
            out += "{"
            var pairs = Array(d.items)
            if sortKeys { pairs = mergeSort(pairs) { $0.key.unicodeScalars.lexicographicallyPrecedes($1.key.unicodeScalars) } }
            for (i, p) in pairs.enumerated() {
                if i > 0 { out += itemSep }
                newline(level + 1)
                jsonString(p.key, into: &out, ascii: ascii)
                out += keySep
                try dumpJSON(p.value, into: &out, indent: indent, level: level + 1, itemSep: itemSep, keySep: keySep, sortKeys: sortKeys, ascii: ascii)
            }
            newline(level)
            out += "}"
        default:
            _ = try v.toJSONValue()
        }
    }

    /// A JSON string literal as Python's `json.dumps` writes it (`ensure_ascii` escapes all but printable ASCII).
    static func jsonString(_ s: String, into out: inout String, ascii: Bool) {
        out += JSON.quote(s, asciiOnly: ascii)
    }
}
