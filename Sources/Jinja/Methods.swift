import OrderedCollections

/// Python methods that templates call on strings, dicts and lists, as ImmutableSandboxedEnvironment allows them.
extension Builtins {
    static let listMutators: Set<String> = ["append", "clear", "extend", "insert", "pop", "remove", "reverse", "sort"]
    static let dictMutators: Set<String> = ["clear", "pop", "popitem", "setdefault", "update"]

    static func isSpace(_ u: Unicode.Scalar) -> Bool { u.properties.isWhitespace }

    static func bind(_ name: String, _ f: @escaping ([JValue], [(String, JValue)]) throws -> JValue) -> JValue {
        .callable(Callable(name: name, boundToValue: true) { a, k, _, _ in try f(a, k) })
    }

    static func arg(_ args: [JValue], _ kwargs: [(String, JValue)], _ i: Int, _ name: String) -> JValue? {
        if i < args.count { return args[i] }
        return kwargs.first { $0.0 == name }?.1
    }

    static func method(_ obj: JValue, _ name: String) throws -> JValue? {
        switch obj {
        case .string(let s): return stringMethod(s, name)
        case .dict(let d):
            if dictMutators.contains(name) { return .undefined("access to attribute '\(name)' of 'dict' object is unsafe.") }
            switch name {
            case "items": return bind(name) { _, _ in .list(d.items.map { .tuple([.string($0.key), $0.value]) }) }
            case "keys": return bind(name) { _, _ in .list(d.items.keys.map { .string($0) }) }
            case "values": return bind(name) { _, _ in .list(Array(d.items.values)) }
            case "get":
                return bind(name) { a, k in
                    guard let key = arg(a, k, 0, "key") else { throw JinjaError("get expected at least 1 argument, got 0") }
                    if case .string(let ks) = key, let v = d.items[ks] { return v }
                    return arg(a, k, 1, "default") ?? .none
                }
            case "copy": return bind(name) { _, _ in .dict(DictBox(d.items)) }
            default: return nil
            }
        case .list(let l):
            l.watch?.readWhole = true  // a bound method reads the whole list whenever it is called
            if listMutators.contains(name) { return .undefined("access to attribute '\(name)' of 'list' object is unsafe.") }
            switch name {
            case "index":
                return bind(name) { a, _ in
                    guard let x = a.first, let i = l.items.firstIndex(where: { pyEqual($0, x) }) else {
                        throw JinjaError("\(a.first?.repr ?? "") is not in list")
                    }
                    return .int(i)
                }
            case "count": return bind(name) { a, _ in .int(l.items.filter { pyEqual($0, a.first ?? .none) }.count) }
            case "copy": return bind(name) { _, _ in .list(l.items) }
            default: return nil
            }
        default: return nil
        }
    }

    static func stripChars(_ a: [JValue], _ k: [(String, JValue)]) -> ((Unicode.Scalar) -> Bool) {
        if let c = arg(a, k, 0, "chars"), case .string(let cs) = c {
            let set = Set(cs.unicodeScalars)
            return { set.contains($0) }
        }
        return isSpace
    }

    static func strip(_ s: String, leading: Bool, trailing: Bool, _ pred: (Unicode.Scalar) -> Bool) -> String {
        var u = Substring(s).unicodeScalars[...]
        if leading { while let f = u.first, pred(f) { u.removeFirst() } }
        if trailing { while let l = u.last, pred(l) { u.removeLast() } }
        return String(String.UnicodeScalarView(u))
    }

    /// Python `str.title()`: a cased letter after an uncased character starts a word.
    static func pyTitle(_ s: String) -> String {
        var out = ""
        var prevCased = false
        for ch in s {
            let cased = ch.isLetter && (ch.isUppercase || ch.isLowercase)
            out += prevCased ? ch.lowercased() : ch.uppercased()
            prevCased = cased
        }
        return out
    }

    static func pyCapitalize(_ s: String) -> String {
        guard let f = s.first else { return s }
        return f.uppercased() + s.dropFirst().lowercased()
    }

    static func pySplit(_ s: String, _ sep: JValue?, _ maxsplit: Int) throws -> [String] {
        if let sep, case .string(let sp) = sep {
            guard !sp.isEmpty else { throw JinjaError("empty separator") }
            var parts: [String] = []
            var rest = Substring(s)
            while maxsplit < 0 || parts.count < maxsplit, let r = rest.range(of: sp) {
                parts.append(String(rest[..<r.lowerBound]))
                rest = rest[r.upperBound...]
            }
            parts.append(String(rest))
            return parts
        }
        var parts: [String] = []
        var u = Substring(s).unicodeScalars[...]
        while true {
            while let f = u.first, isSpace(f) { u.removeFirst() }
            if u.isEmpty { break }
            if maxsplit >= 0 && parts.count == maxsplit {
                var t = u
                while let l = t.last, isSpace(l) { t.removeLast() }
                parts.append(String(String.UnicodeScalarView(t)))
                break
            }
            var w = String.UnicodeScalarView()
            while let f = u.first, !isSpace(f) { w.append(f); u.removeFirst() }
            parts.append(String(w))
        }
        return parts
    }

    static func pyReplace(_ s: String, _ old: String, _ new: String, _ count: Int) -> String {
        if count < 0 { return old.isEmpty ? pyReplaceEmpty(s, new, -1) : s.replacingOccurrences(of: old, with: new) }
        if old.isEmpty { return pyReplaceEmpty(s, new, count) }
        var out = "", rest = Substring(s), n = 0
        while n < count, let r = rest.range(of: old) {
            out += rest[..<r.lowerBound] + new
            rest = rest[r.upperBound...]
            n += 1
        }
        return out + rest
    }

    private static func pyReplaceEmpty(_ s: String, _ new: String, _ count: Int) -> String {
        var out = "", n = 0
        for u in s.unicodeScalars {
            if count < 0 || n < count { out += new; n += 1 }
            out.unicodeScalars.append(u)
        }
        if count < 0 || n < count { out += new }
        return out
    }

    static func prefixes(_ v: JValue?) -> [String] {
        switch v {
        case .string(let p)?: return [p]
        case .tuple(let t)?: return t.compactMap { if case .string(let p) = $0 { return p }; return nil }
        case .list(let l)?: return l.items.compactMap { if case .string(let p) = $0 { return p }; return nil }
        default: return []
        }
    }

    static func stringMethod(_ s: String, _ name: String) -> JValue? {
        switch name {
        case "strip": return bind(name) { a, k in .string(strip(s, leading: true, trailing: true, stripChars(a, k))) }
        case "lstrip": return bind(name) { a, k in .string(strip(s, leading: true, trailing: false, stripChars(a, k))) }
        case "rstrip": return bind(name) { a, k in .string(strip(s, leading: false, trailing: true, stripChars(a, k))) }
        case "upper": return bind(name) { _, _ in .string(s.uppercased()) }
        case "lower": return bind(name) { _, _ in .string(s.lowercased()) }
        case "title": return bind(name) { _, _ in .string(pyTitle(s)) }
        case "capitalize": return bind(name) { _, _ in .string(pyCapitalize(s)) }
        case "startswith": return bind(name) { a, _ in .bool(prefixes(a.first).contains { s.unicodeScalars.starts(with: $0.unicodeScalars) }) }
        case "endswith": return bind(name) { a, _ in .bool(prefixes(a.first).contains { s.unicodeScalars.reversed().starts(with: $0.unicodeScalars.reversed()) }) }
        case "split":
            return bind(name) { a, k in
                .list(try pySplit(s, arg(a, k, 0, "sep"), arg(a, k, 1, "maxsplit")?.intLike ?? -1).map { .string($0) })
            }
        case "splitlines": return bind(name) { _, _ in .list(s.split(omittingEmptySubsequences: false) { $0.isNewline }.map { .string(String($0)) }.dropLastEmpty()) }
        case "replace":
            return bind(name) { a, k in
                guard case .string(let old)? = arg(a, k, 0, "old"), case .string(let new)? = arg(a, k, 1, "new") else {
                    throw JinjaError("replace() needs two string arguments")
                }
                return .string(pyReplace(s, old, new, arg(a, k, 2, "count")?.intLike ?? -1))
            }
        case "find":
            return bind(name) { a, _ in
                guard case .string(let sub)? = a.first else { throw JinjaError("find() needs a string argument") }
                guard let r = s.range(of: sub) else { return .int(-1) }
                return .int(s.unicodeScalars.distance(from: s.startIndex, to: r.lowerBound))
            }
        case "count":
            return bind(name) { a, _ in
                guard case .string(let sub)? = a.first, !sub.isEmpty else { return .int(s.unicodeScalars.count + 1) }
                return .int(s.components(separatedBy: sub).count - 1)
            }
        case "join":
            return bind(name) { a, _ in
                guard let x = a.first else { throw JinjaError("join() takes exactly one argument") }
                let items: [JValue]
                switch x {
                case .list(let l): items = l.items
                case .tuple(let t): items = t
                default: throw JinjaError("can only join an iterable")
                }
                return .string(try items.map { v -> String in
                    guard case .string(let t) = v else { throw JinjaError("sequence item: expected str instance, \(v.pyType) found") }
                    return t
                }.joined(separator: s))
            }
        case "isdigit": return bind(name) { _, _ in .bool(!s.isEmpty && s.allSatisfy { $0.isNumber }) }
        case "isalpha": return bind(name) { _, _ in .bool(!s.isEmpty && s.allSatisfy { $0.isLetter }) }
        case "isspace": return bind(name) { _, _ in .bool(!s.isEmpty && s.unicodeScalars.allSatisfy(isSpace)) }
        case "islower": return bind(name) { _, _ in .bool(s.contains { $0.isLetter } && s.lowercased() == s) }
        case "isupper": return bind(name) { _, _ in .bool(s.contains { $0.isLetter } && s.uppercased() == s) }
        case "format": return bind(name) { a, k in .string(try pyFormat(s, a, k)) }
        default: return nil
        }
    }

    /// `str.format` with `{}`, `{0}` and `{name}` fields (no format specs).
    static func pyFormat(_ s: String, _ a: [JValue], _ k: [(String, JValue)]) throws -> String {
        var out = "", auto = 0
        var it = s.makeIterator()
        while let c = it.next() {
            if c == "{" {
                var field = ""
                var closed = false
                while let d = it.next() {
                    if d == "{" && field.isEmpty { out += "{"; closed = true; field = "\u{0}"; break }
                    if d == "}" { closed = true; break }
                    field.append(d)
                }
                if field == "\u{0}" { continue }
                guard closed else { throw JinjaError("Single '{' encountered in format string") }
                let v: JValue
                if field.isEmpty { guard auto < a.count else { throw JinjaError("Replacement index \(auto) out of range for positional args tuple") }; v = a[auto]; auto += 1 }
                else if let i = Int(field) { guard i < a.count else { throw JinjaError("Replacement index \(i) out of range for positional args tuple") }; v = a[i] }
                else { guard let kv = k.first(where: { $0.0 == field }) else { throw JinjaError("KeyError: '\(field)'") }; v = kv.1 }
                out += v.str
            } else if c == "}" {
                if it.next() != "}" { throw JinjaError("Single '}' encountered in format string") }
                out += "}"
            } else { out.append(c) }
        }
        return out
    }
}

extension Array where Element == JValue {
    func dropLastEmpty() -> [JValue] {
        if case .string("")? = last { return Array(dropLast()) }
        return self
    }
}
