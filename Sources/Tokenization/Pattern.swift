import Values

func requireString(_ v: Value?, _ what: String) throws -> String {
    guard let s = v?.stringValue else { throw TokenizerError("tokenizer.json: \(what) must be a string; fix the file") }
    return s
}

/// A `Split`/`Replace` pattern: `{"String": ...}` or `{"Regex": ...}`.
enum Pattern {
    case literal([Unicode.Scalar])
    case regex(PCRERegex)

    init(_ v: Value?, _ what: String) throws {
        if let s = v?["String"]?.stringValue { self = .literal(Array(s.unicodeScalars)) }
        else if let r = v?["Regex"]?.stringValue { self = .regex(try PCRERegex(r)) }
        else { throw TokenizerError("tokenizer.json: \(what).pattern must be {\"String\": ...} or {\"Regex\": ...}; fix the file") }
    }

    func matches(_ s: NString) -> [Range<Int>] {
        switch self {
        case .regex(let r): return r.matches(s)
        case .literal(let lit):
            guard !lit.isEmpty, lit.count <= s.scalars.count else { return [] }
            var out: [Range<Int>] = []
            var i = 0
            while i + lit.count <= s.scalars.count {
                if Array(s.scalars[i..<i + lit.count]) == lit { out.append(i..<i + lit.count); i += lit.count } else { i += 1 }
            }
            return out
        }
    }
}
