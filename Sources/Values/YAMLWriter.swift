/// Writes a `Value` as block-style YAML that reads back to the same value (with this module's reader and with
/// PyYAML), optionally with a trailing comment per node (`sftrun plan` uses it to say where a value came from).
public enum YAMLWriter {
    public static func write(_ value: Value, comment: (ValuePath) -> String? = { _ in nil }) -> String {
        var lines: [String] = []
        emit(value, path: [], indent: 0, into: &lines, comment: comment)
        return lines.joined(separator: "\n") + "\n"
    }

    /// A scalar in flow form: quoted when a plain spelling would read back as something else.
    public static func scalar(_ value: Value) -> String {
        switch value {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case .int(let i): return String(i)
        case .double(let d): return formatDouble(d)
        case .string(let s): return quoteIfNeeded(s)
        case .array(let a): return "[" + a.map(scalar).joined(separator: ", ") + "]"
        case .object(let o): return "{" + o.map { "\(quoteIfNeeded($0.key)): \(scalar($0.value))" }.joined(separator: ", ") + "}"
        }
    }

    /// Floats always carry a dot so that YAML 1.1 readers (PyYAML) also see a float: `3.0e-05`, `2.0`.
    public static func formatDouble(_ d: Double) -> String {
        if d.isNaN { return ".nan" }
        if d.isInfinite { return d > 0 ? ".inf" : "-.inf" }
        var s = d.description
        if var e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            if !s[..<e].contains(".") {
                s.insert(contentsOf: ".0", at: e)
                e = s.firstIndex(where: { $0 == "e" || $0 == "E" })!
            }
            let afterE = s.index(after: e)
            if afterE < s.endIndex, s[afterE] != "-", s[afterE] != "+" { s.insert("+", at: afterE) }
        } else if !s.contains(".") {
            s += ".0"
        }
        return s
    }

    static func quoteIfNeeded(_ s: String) -> String {
        if s.isEmpty { return "\"\"" }
        let resolved = YAML.resolvePlainScalar(s)
        let special: Set<Character> = ["-", "?", ":", ",", "[", "]", "{", "}", "#", "&", "*", "!", "|", ">", "'", "\"", "%", "@", "`"]
        let needsQuotes = resolved != .string(s)
            || YAML.booleanLikeSpellings[s] != nil
            || special.contains(s.first!)
            || s.first!.isWhitespace || s.last!.isWhitespace
            || s.contains(": ") || s.contains(" #") || s.hasSuffix(":")
            || s.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
        return needsQuotes ? JSON.quote(s) : s
    }

    static func emit(_ value: Value, path: ValuePath, indent: Int, into lines: inout [String],
                     comment: (ValuePath) -> String?) {
        let pad = String(repeating: " ", count: indent)
        func withComment(_ line: String, _ p: ValuePath) -> String {
            guard let c = comment(p) else { return line }
            return line + "  # " + c
        }
        switch value {
        case .object(let o) where !o.isEmpty:
            for (k, v) in o {
                let p = path + [.key(k)]
                let key = quoteIfNeeded(k)
                if isBlock(v) {
                    lines.append(withComment("\(pad)\(key):", p))
                    emit(v, path: p, indent: indent + 2, into: &lines, comment: comment)
                } else {
                    lines.append(withComment("\(pad)\(key): \(scalar(v))", p))
                }
            }
        case .array(let a) where !a.isEmpty:
            for (i, v) in a.enumerated() {
                let p = path + [.index(i)]
                if case .object(let o) = v, !o.isEmpty {
                    var sub: [String] = []
                    emit(v, path: p, indent: indent + 2, into: &sub, comment: comment)
                    if var first = sub.first {
                        first.replaceSubrange(first.startIndex..<first.index(first.startIndex, offsetBy: indent + 2),
                                              with: pad + "- ")
                        sub[0] = first
                    }
                    lines += sub
                } else if isBlock(v) {
                    lines.append(withComment("\(pad)-", p))
                    emit(v, path: p, indent: indent + 2, into: &lines, comment: comment)
                } else {
                    lines.append(withComment("\(pad)- \(scalar(v))", p))
                }
            }
        default:
            lines.append(withComment(pad + scalar(value), path))
        }
    }

    public static func isBlock(_ v: Value) -> Bool {
        switch v {
        case .object(let o): return !o.isEmpty
        case .array(let a): return !a.isEmpty
        default: return false
        }
    }
}
