import Values

enum SplitBehavior: String { case removed, isolated, merged_with_previous = "mergedwithprevious", merged_with_next = "mergedwithnext", contiguous }

func splitBy(_ s: NString, matches: [Range<Int>], behavior: SplitBehavior, invert: Bool) -> [NString] {
    // Nothing matched: every behavior keeps the piece whole (no copy).
    if matches.isEmpty && !invert { return s.scalars.isEmpty ? [] : [s] }
    var parts: [(Range<Int>, Bool)] = []
    var prev = 0
    for m in matches {
        if prev < m.lowerBound { parts.append((prev..<m.lowerBound, false)) }
        parts.append((m, true)); prev = m.upperBound
    }
    if prev < s.scalars.count { parts.append((prev..<s.scalars.count, false)) }
    if invert { parts = parts.map { ($0.0, !$0.1) } }
    var ranges: [Range<Int>] = []
    switch behavior {
    case .removed: ranges = parts.filter { !$0.1 }.map { $0.0 }
    case .isolated: ranges = parts.map { $0.0 }
    case .merged_with_previous:
        var lastMatch = false
        for (r, m) in parts {
            if m && !ranges.isEmpty && !lastMatch { ranges[ranges.count - 1] = ranges.last!.lowerBound..<r.upperBound } else { ranges.append(r) }
            lastMatch = m
        }
    case .merged_with_next:
        var pendingStart: Int? = nil
        for (r, m) in parts {
            if m { if pendingStart == nil { pendingStart = r.lowerBound } else { ranges.append(pendingStart!..<r.lowerBound); pendingStart = r.lowerBound } }
            else if let p = pendingStart { ranges.append(p..<r.upperBound); pendingStart = nil } else { ranges.append(r) }
        }
        if let p = pendingStart { ranges.append(p..<s.scalars.count) }
    case .contiguous:
        var lastMatch = false
        for (r, m) in parts {
            if m && lastMatch { ranges[ranges.count - 1] = ranges.last!.lowerBound..<r.upperBound } else { ranges.append(r) }
            lastMatch = m
        }
    }
    return ranges.filter { !$0.isEmpty }.map { s.slice($0) }
}

indirect enum PreTokenizer {
    case byteLevel(addPrefixSpace: Bool, regex: PCRERegex?)
    case split(Pattern, SplitBehavior, Bool)
    case digits(Bool)
    case metaspace(Unicode.Scalar, String, Bool)
    case whitespace(PCRERegex)
    case whitespaceSplit
    case bert
    case punctuation(SplitBehavior)
    case sequence([PreTokenizer])

    static let supported = "ByteLevel, Split, Digits, Metaspace, Whitespace, WhitespaceSplit, BertPreTokenizer, Punctuation, Sequence"

    init(_ v: Value) throws {
        let type = v["type"]?.stringValue ?? "?"
        switch type {
        case "ByteLevel":
            self = .byteLevel(addPrefixSpace: v["add_prefix_space"]?.boolValue ?? true,
                              regex: (v["use_regex"]?.boolValue ?? true) ? try PCRERegex(ByteLevelTable.gpt2Pattern) : nil)
        case "Split":
            let b = (v["behavior"]?.stringValue ?? "Isolated").lowercased()
            guard let beh = SplitBehavior(rawValue: b) else { throw TokenizerError("tokenizer.json: Split behavior \(b) is unknown; use Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous") }
            self = .split(try Pattern(v["pattern"], "pre_tokenizer Split"), beh, v["invert"]?.boolValue ?? false)
        case "Digits": self = .digits(v["individual_digits"]?.boolValue ?? false)
        case "Metaspace":
            let r = (v["replacement"]?.stringValue ?? "▁").unicodeScalars.first ?? "▁"
            var scheme = v["prepend_scheme"]?.stringValue ?? "always"
            if v["prepend_scheme"] == nil, let aps = v["add_prefix_space"]?.boolValue { scheme = aps ? "always" : "never" }
            self = .metaspace(r, scheme, v["split"]?.boolValue ?? true)
        case "Whitespace":
            // Rust's \w also covers marks, letter numbers and joiners, which PCRE2's \w does not.
            let w = #"[\p{L}\p{Nl}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D}]"#
            self = .whitespace(try PCRERegex(w + "+|[^" + String(w.dropFirst().dropLast()) + #"\s]+"#))
        case "WhitespaceSplit": self = .whitespaceSplit
        case "BertPreTokenizer": self = .bert
        case "Punctuation": self = .punctuation(SplitBehavior(rawValue: (v["behavior"]?.stringValue ?? "Isolated").lowercased()) ?? .isolated)
        case "Sequence": self = .sequence(try (v["pretokenizers"]?.arrayValue ?? []).map(PreTokenizer.init))
        default: throw TokenizerError("tokenizer.json: pre_tokenizer type \(type) is not supported (supported: \(PreTokenizer.supported)); use a tokenizer with supported components")
        }
    }

    func apply(_ pieces: [NString]) -> [NString] {
        switch self {
        case .sequence(let ps): return ps.reduce(pieces) { $1.apply($0) }
        default: return pieces.flatMap { applyOne($0) }
        }
    }

    private func applyOne(_ s: NString) -> [NString] {
        switch self {
        case .byteLevel(let aps, let regex):
            var s = s
            if aps && !s.scalars.isEmpty && s.scalars.first != " " {
                let a = s.align.first ?? s.origin..<s.origin
                s.scalars.insert(" ", at: 0); s.align.insert(a, at: 0)
            }
            guard !s.scalars.isEmpty else { return [] }
            // Isolated split and byte mapping in one pass: each piece is mapped straight from `s`, not sliced first.
            var ranges: [Range<Int>] = []
            if let regex {
                var prev = 0
                for m in regex.matches(s) {
                    if prev < m.lowerBound { ranges.append(prev..<m.lowerBound) }
                    ranges.append(m); prev = m.upperBound
                }
                if prev < s.scalars.count { ranges.append(prev..<s.scalars.count) }
            } else { ranges = [0..<s.scalars.count] }
            var buf: [UInt8] = []
            return ranges.map { r in
                var sc: [Unicode.Scalar] = [], al: [Range<Int>] = []
                sc.reserveCapacity(r.count); al.reserveCapacity(r.count)
                for i in r {
                    let c = s.scalars[i], a = s.align[i]
                    if c.value < 0x80 { sc.append(ByteLevelTable.byteToChar[Int(c.value)]); al.append(a); continue }
                    buf.removeAll(keepingCapacity: true)
                    UTF8Scalars.append(c, to: &buf)
                    for b in buf { sc.append(ByteLevelTable.byteToChar[Int(b)]); al.append(a) }
                }
                return NString(scalars: sc, align: al, origin: s.align[r.lowerBound].lowerBound)
            }
        case .split(let p, let b, let inv): return splitBy(s, matches: p.matches(s), behavior: b, invert: inv)
        case .digits(let individual):
            var ms: [Range<Int>] = []
            var i = 0
            while i < s.scalars.count {
                if isRustNumeric(s.scalars[i]) {
                    var j = i + 1
                    if !individual { while j < s.scalars.count && isRustNumeric(s.scalars[j]) { j += 1 } }
                    ms.append(i..<j); i = j
                } else { i += 1 }
            }
            return splitBy(s, matches: ms, behavior: .isolated, invert: false)
        case .metaspace(let r, let scheme, let split):
            var s = s
            s.scalars = s.scalars.map { $0 == " " ? r : $0 }
            if scheme == "always" || (scheme == "first" && s.origin == 0 && s.align.first?.lowerBound ?? 0 == 0), !s.scalars.isEmpty, s.scalars.first != r {
                let a = s.align.first ?? s.origin..<s.origin
                s.scalars.insert(r, at: 0); s.align.insert(a, at: 0)
            }
            guard split else { return [s] }
            let ms = s.scalars.indices.filter { s.scalars[$0] == r }.map { $0..<$0 + 1 }
            return splitBy(s, matches: ms, behavior: .merged_with_next, invert: false)
        case .whitespace(let re): return splitBy(s, matches: re.matches(s), behavior: .removed, invert: true)
        case .whitespaceSplit:
            let ms = s.scalars.indices.filter { s.scalars[$0].properties.isWhitespace }.map { $0..<$0 + 1 }
            return splitBy(s, matches: ms, behavior: .removed, invert: false)
        case .punctuation(let b):
            let ms = s.scalars.indices.filter { isBertPunctuation(s.scalars[$0]) }.map { $0..<$0 + 1 }
            return splitBy(s, matches: ms, behavior: b, invert: false)
        case .bert:
            // Whitespace removed, then every punctuation character on its own (tokenizers' BertPreTokenizer).
            return PreTokenizer.whitespaceSplit.applyOne(s).flatMap { PreTokenizer.punctuation(.isolated).applyOne($0) }
        case .sequence: return apply([s])
        }
    }
}

/// ASCII punctuation or a Unicode P* character (tokenizers' `is_bert_punc`).
func isBertPunctuation(_ c: Unicode.Scalar) -> Bool {
    let v = c.value
    if (0x21...0x2F).contains(v) || (0x3A...0x40).contains(v) || (0x5B...0x60).contains(v) || (0x7B...0x7E).contains(v) { return true }
    return c.properties.generalCategory.isPunct
}

extension Unicode.GeneralCategory {
    var isPunct: Bool {
        switch self { case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation, .finalPunctuation, .otherPunctuation: return true; default: return false }
    }
}
