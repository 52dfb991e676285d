import CPCRE2
import Foundation
import Values

/// A tokenizer file could not be read or uses a component this module does not implement.
public struct TokenizerError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Text being tokenized, one Unicode scalar at a time, each carrying the UTF-8 byte range of the
/// ORIGINAL text it came from, so offsets survive normalization and byte-level mapping (HF's NormalizedString).
struct NString {
    var scalars: [Unicode.Scalar]
    var align: [Range<Int>]
    /// Where this piece sits in the original text (used for empty pieces and prefixes).
    var origin: Int

    var string: String { var s = String.UnicodeScalarView(); s.append(contentsOf: scalars); return String(s) }

    func slice(_ r: Range<Int>) -> NString {
        NString(scalars: Array(scalars[r]), align: Array(align[r]),
                origin: r.isEmpty ? (r.lowerBound < align.count ? align[r.lowerBound].lowerBound : origin) : align[r.lowerBound].lowerBound)
    }
}

/// A compiled PCRE2 pattern (UTF + UCP, as the Rust `onig`/`fancy-regex` patterns in tokenizer.json expect).
final class PCRERegex: @unchecked Sendable {
    let code: OpaquePointer

    init(_ pattern: String) throws {
        var err: Int32 = 0
        var off: Int = 0
        let bytes = Array(pattern.utf8)
        guard let c = bytes.withUnsafeBufferPointer({ p in
            pcre2_compile_8(p.baseAddress, p.count, UInt32(PCRE2_UTF | PCRE2_UCP), &err, &off, nil)
        }) else {
            var buf = [UInt8](repeating: 0, count: 256)
            pcre2_get_error_message_8(err, &buf, 256)
            throw TokenizerError("regex \(pattern) does not compile at offset \(off): \(String(decoding: buf.prefix { $0 != 0 }, as: UTF8.self)); fix the pattern in tokenizer.json")
        }
        code = c
        pcre2_jit_compile_8(code, UInt32(PCRE2_JIT_COMPLETE))
    }

    deinit { pcre2_code_free_8(code) }

    /// Non-empty match ranges over the scalar indices of `s`.
    func matches(_ s: NString) -> [Range<Int>] {
        var utf8: [UInt8] = []
        var byteToScalar: [Int] = []
        for (i, sc) in s.scalars.enumerated() {
            for b in String(sc).utf8 { utf8.append(b); byteToScalar.append(i) }
        }
        byteToScalar.append(s.scalars.count)
        guard let md = pcre2_match_data_create_from_pattern_8(code, nil) else { return [] }
        defer { pcre2_match_data_free_8(md) }
        var out: [Range<Int>] = []
        var start = 0
        utf8.withUnsafeBufferPointer { p in
            while start <= utf8.count {
                let subject = p.baseAddress ?? UnsafePointer(bitPattern: 1)
                var rc = pcre2_match_8(code, subject, utf8.count, start, 0, md, nil)
                // The JIT's small default stack can run out on very long inputs; the interpreter has no such limit.
                if rc < 0 && rc != PCRE2_ERROR_NOMATCH { rc = pcre2_match_8(code, subject, utf8.count, start, UInt32(PCRE2_NO_JIT), md, nil) }
                if rc < 0 { break }
                let ov = pcre2_get_ovector_pointer_8(md)!
                let a = ov[0], b = ov[1]
                if b > a { out.append(byteToScalar[a]..<byteToScalar[b]); start = b } else {
                    // Empty match: step one scalar forward.
                    var n = a + 1
                    while n < utf8.count && (utf8[n] & 0xC0) == 0x80 { n += 1 }
                    start = n
                }
            }
        }
        return out
    }
}

/// GPT-2's byte ↔ printable-character table used by ByteLevel pre-tokenizer and decoder.
enum ByteLevelTable {
    static let byteToChar: [Unicode.Scalar] = {
        var bs: [Int] = Array(33...126) + Array(161...172) + Array(174...255)
        var cs = bs
        var n = 0
        for b in 0..<256 where !bs.contains(b) { bs.append(b); cs.append(256 + n); n += 1 }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for (b, c) in zip(bs, cs) { table[b] = Unicode.Scalar(UInt32(c))! }
        return table
    }()
    static let charToByte: [Unicode.Scalar: UInt8] = {
        var d: [Unicode.Scalar: UInt8] = [:]
        for (b, c) in byteToChar.enumerated() { d[c] = UInt8(b) }
        return d
    }()
    static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
}

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

// MARK: - Normalizers

indirect enum Normalizer {
    case nfc, nfd, nfkc, nfkd, lowercase, strip(Bool, Bool)
    case replace(Pattern, [Unicode.Scalar])
    case prepend([Unicode.Scalar])
    case sequence([Normalizer])

    static let supported = "NFC, NFD, NFKC, NFKD, Lowercase, Strip, Replace, Prepend, Sequence"

    init(_ v: Value) throws {
        let type = v["type"]?.stringValue ?? "?"
        switch type {
        case "NFC": self = .nfc
        case "NFD": self = .nfd
        case "NFKC": self = .nfkc
        case "NFKD": self = .nfkd
        case "Lowercase": self = .lowercase
        case "Strip": self = .strip(v["strip_left"]?.boolValue ?? true, v["strip_right"]?.boolValue ?? true)
        case "Replace": self = .replace(try Pattern(v["pattern"], "normalizer Replace"), Array(try requireString(v["content"], "Replace.content").unicodeScalars))
        case "Prepend": self = .prepend(Array(try requireString(v["prepend"], "Prepend.prepend").unicodeScalars))
        case "Sequence": self = .sequence(try (v["normalizers"]?.arrayValue ?? []).map(Normalizer.init))
        default: throw TokenizerError("tokenizer.json: normalizer type \(type) is not supported (supported: \(Normalizer.supported)); use a tokenizer with supported components")
        }
    }

    func apply(_ s: inout NString) {
        switch self {
        case .nfc: Normalizer.unicode(&s) { $0.precomposedStringWithCanonicalMapping }
        case .nfd: Normalizer.unicode(&s) { $0.decomposedStringWithCanonicalMapping }
        case .nfkc: Normalizer.unicode(&s) { $0.precomposedStringWithCompatibilityMapping }
        case .nfkd: Normalizer.unicode(&s) { $0.decomposedStringWithCompatibilityMapping }
        case .lowercase:
            var sc: [Unicode.Scalar] = [], al: [Range<Int>] = []
            for (c, a) in zip(s.scalars, s.align) { for l in String(c).lowercased().unicodeScalars { sc.append(l); al.append(a) } }
            s.scalars = sc; s.align = al
        case .strip(let l, let r):
            var lo = 0, hi = s.scalars.count
            if l { while lo < hi && s.scalars[lo].properties.isWhitespace { lo += 1 } }
            if r { while hi > lo && s.scalars[hi - 1].properties.isWhitespace { hi -= 1 } }
            s = s.slice(lo..<hi)
        case .replace(let p, let content):
            let ms = p.matches(s)
            guard !ms.isEmpty else { return }
            var sc: [Unicode.Scalar] = [], al: [Range<Int>] = []
            var prev = 0
            for m in ms {
                sc += s.scalars[prev..<m.lowerBound]; al += s.align[prev..<m.lowerBound]
                let a = s.align[m.lowerBound].lowerBound..<s.align[m.upperBound - 1].upperBound
                for c in content { sc.append(c); al.append(a) }
                prev = m.upperBound
            }
            sc += s.scalars[prev...]; al += s.align[prev...]
            s.scalars = sc; s.align = al
        case .prepend(let p):
            guard !s.scalars.isEmpty else { return }
            let a = s.align[0]
            s.scalars.insert(contentsOf: p, at: 0); s.align.insert(contentsOf: Array(repeating: a, count: p.count), at: 0)
        case .sequence(let ns): for n in ns { n.apply(&s) }
        }
    }

    /// Unicode normalization per grapheme cluster, so each output scalar keeps its cluster's original bytes.
    private static func unicode(_ s: inout NString, _ f: (String) -> String) {
        var sc: [Unicode.Scalar] = [], al: [Range<Int>] = []
        let str = s.string
        var idx = 0
        for ch in str {
            let n = ch.unicodeScalars.count
            let a = s.align[idx].lowerBound..<s.align[idx + n - 1].upperBound
            let whole = Array(f(String(ch)).unicodeScalars)
            // Prefer per-scalar alignment (HF maps each decomposed char to its source char) when it gives the same text.
            let per = (idx..<idx + n).map { i in (Array(f(String(s.scalars[i])).unicodeScalars), s.align[i]) }
            if whole.count == n {
                // Reordering: HF's alignments keep output char k on source char k.
                for (k, c) in whole.enumerated() { sc.append(c); al.append(s.align[idx + k]) }
            } else if whole.count < n {
                // Composition: a composed char sits on its first source char; untouched chars keep their own.
                var j = idx
                for c in whole {
                    if let hit = (j..<idx + n).first(where: { s.scalars[$0] == c }) { al.append(s.align[hit]); j = hit + 1 }
                    else { al.append(s.align[min(j, idx + n - 1)]); j += 1 }
                    sc.append(c)
                }
            } else if per.flatMap({ $0.0 }) == whole {
                for (cs, al1) in per { for c in cs { sc.append(c); al.append(al1) } }
            } else {
                for c in whole { sc.append(c); al.append(a) }
            }
            idx += n
        }
        s.scalars = sc; s.align = al
    }
}

// MARK: - Pre-tokenizers

enum SplitBehavior: String { case removed, isolated, merged_with_previous = "mergedwithprevious", merged_with_next = "mergedwithnext", contiguous }

func splitBy(_ s: NString, matches: [Range<Int>], behavior: SplitBehavior, invert: Bool) -> [NString] {
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
    case punctuation(SplitBehavior)
    case sequence([PreTokenizer])

    static let supported = "ByteLevel, Split, Digits, Metaspace, Whitespace, WhitespaceSplit, Punctuation, Sequence"

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
            if aps && s.scalars.first != " " {
                let a = s.align.first ?? s.origin..<s.origin
                s.scalars.insert(" ", at: 0); s.align.insert(a, at: 0)
            }
            let parts = regex.map { splitBy(s, matches: $0.matches(s), behavior: .isolated, invert: false) } ?? [s]
            return parts.map { p in
                var sc: [Unicode.Scalar] = [], al: [Range<Int>] = []
                for (c, a) in zip(p.scalars, p.align) { for b in String(c).utf8 { sc.append(ByteLevelTable.byteToChar[Int(b)]); al.append(a) } }
                return NString(scalars: sc, align: al, origin: p.origin)
            }
        case .split(let p, let b, let inv): return splitBy(s, matches: p.matches(s), behavior: b, invert: inv)
        case .digits(let individual):
            var ms: [Range<Int>] = []
            var i = 0
            while i < s.scalars.count {
                if s.scalars[i].properties.numericType != nil {
                    var j = i + 1
                    if !individual { while j < s.scalars.count && s.scalars[j].properties.numericType != nil { j += 1 } }
                    ms.append(i..<j); i = j
                } else { i += 1 }
            }
            return splitBy(s, matches: ms, behavior: .isolated, invert: false)
        case .metaspace(let r, let scheme, let split):
            var s = s
            s.scalars = s.scalars.map { $0 == " " ? r : $0 }
            if scheme == "always" || (scheme == "first" && s.origin == 0 && s.align.first?.lowerBound ?? 0 == 0), s.scalars.first != r {
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
            let ms = s.scalars.indices.filter { let c = s.scalars[$0]; return c.properties.generalCategory.isPunct || (c.isASCII && c.properties.isPatternSyntax) }.map { $0..<$0 + 1 }
            return splitBy(s, matches: ms, behavior: b, invert: false)
        case .sequence: return apply([s])
        }
    }
}

extension Unicode.GeneralCategory {
    var isPunct: Bool {
        switch self { case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation, .initialPunctuation, .finalPunctuation, .otherPunctuation: return true; default: return false }
    }
}

// MARK: - Decoders

indirect enum TokenDecoder {
    case byteLevel, byteFallback, fuse
    case metaspace(String, Bool)
    case strip(String, Int, Int)
    case replace(String, String)
    case wordPiece(String)
    case sequence([TokenDecoder])

    static let supported = "ByteLevel, Metaspace, ByteFallback, Fuse, Strip, Replace, WordPiece, Sequence"

    init(_ v: Value) throws {
        let type = v["type"]?.stringValue ?? "?"
        switch type {
        case "ByteLevel": self = .byteLevel
        case "ByteFallback": self = .byteFallback
        case "Fuse": self = .fuse
        case "Metaspace":
            var scheme = v["prepend_scheme"]?.stringValue ?? "always"
            if v["prepend_scheme"] == nil, let aps = v["add_prefix_space"]?.boolValue { scheme = aps ? "always" : "never" }
            self = .metaspace(v["replacement"]?.stringValue ?? "▁", scheme != "never")
        case "Strip": self = .strip(v["content"]?.stringValue ?? " ", v["start"]?.intValue ?? 0, v["stop"]?.intValue ?? 0)
        case "Replace":
            guard let p = v["pattern"]?["String"]?.stringValue else { throw TokenizerError("tokenizer.json: decoder Replace needs a {\"String\": ...} pattern; regex patterns are not supported") }
            self = .replace(p, try requireString(v["content"], "decoder Replace.content"))
        case "WordPiece": self = .wordPiece(v["prefix"]?.stringValue ?? "##")
        case "Sequence": self = .sequence(try (v["decoders"]?.arrayValue ?? []).map(TokenDecoder.init))
        default: throw TokenizerError("tokenizer.json: decoder type \(type) is not supported (supported: \(TokenDecoder.supported)); use a tokenizer with supported components")
        }
    }

    func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case .sequence(let ds): return ds.reduce(tokens) { $1.decodeChain($0) }
        case .byteLevel:
            var bytes: [UInt8] = []
            for t in tokens { for c in t.unicodeScalars { if let b = ByteLevelTable.charToByte[c] { bytes.append(b) } else { bytes += Array(String(c).utf8) } } }
            return [String(decoding: bytes, as: UTF8.self)]
        case .fuse: return [tokens.joined()]
        case .metaspace(let r, let prepend):
            return tokens.enumerated().map { i, t in
                var s = t.replacingOccurrences(of: r, with: " ")
                if i == 0 && prepend && s.hasPrefix(" ") { s.removeFirst() }
                return s
            }
        case .strip(let content, let start, let stop):
            return tokens.map { t in
                var cs = Array(t)
                var a = 0
                while a < start && a < cs.count && String(cs[a]) == content { a += 1 }
                cs.removeFirst(a)
                var b = 0
                while b < stop && !cs.isEmpty && String(cs[cs.count - 1]) == content { cs.removeLast(); b += 1 }
                return String(cs)
            }
        case .replace(let p, let c): return tokens.map { $0.replacingOccurrences(of: p, with: c) }
        case .wordPiece(let prefix):
            return tokens.enumerated().map { i, t in
                if i != 0 { return t.hasPrefix(prefix) ? String(t.dropFirst(prefix.count)) : " " + t }
                return t
            }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let s = String(validating: pending, as: UTF8.self) { out.append(s) } else { out += Array(repeating: "\u{FFFD}", count: pending.count) }
                pending = []
            }
            for t in tokens {
                let u = Array(t.utf8)
                if u.count == 6, t.hasPrefix("<0x"), t.hasSuffix(">"), let b = UInt8(t.dropFirst(3).prefix(2), radix: 16) { pending.append(b) } else { flush(); out.append(t) }
            }
            flush()
            return out
        }
    }
}
