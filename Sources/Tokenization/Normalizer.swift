import Foundation
import Values

indirect enum Normalizer {
    case nfc, nfd, nfkc, nfkd, lowercase, strip(Bool, Bool)
    case replace(Pattern, [Unicode.Scalar])
    case prepend([Unicode.Scalar])
    case sequence([Normalizer])
    case stripAccents
    case bert(cleanText: Bool, chineseChars: Bool, stripAccents: Bool, lowercase: Bool)
    case precompiled(PrecompiledCharsMap)

    static let supported = "NFC, NFD, NFKC, NFKD, Lowercase, Strip, StripAccents, Replace, Prepend, BertNormalizer, Precompiled, Sequence"

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
        case "StripAccents": self = .stripAccents
        case "BertNormalizer":
            let lower = v["lowercase"]?.boolValue ?? true
            self = .bert(cleanText: v["clean_text"]?.boolValue ?? true, chineseChars: v["handle_chinese_chars"]?.boolValue ?? true,
                         stripAccents: v["strip_accents"]?.boolValue ?? lower, lowercase: lower)
        case "Precompiled":
            guard let b64 = v["precompiled_charsmap"]?.stringValue else { self = .sequence([]); return }
            guard let data = Data(base64Encoded: b64) else { throw TokenizerError("tokenizer.json: Precompiled.precompiled_charsmap is not base64; fix the file") }
            self = .precompiled(try PrecompiledCharsMap([UInt8](data)))
        default: throw TokenizerError("tokenizer.json: normalizer type \(type) is not supported (supported: \(Normalizer.supported)); use a tokenizer with supported components")
        }
    }

    func apply(_ s: inout NString) {
        switch self {
        case .nfc: Normalizer.unicode(&s) { $0.precomposedStringWithCanonicalMapping }
        case .nfd: Normalizer.unicode(&s) { $0.decomposedStringWithCanonicalMapping }
        case .nfkc: Normalizer.unicode(&s) { $0.precomposedStringWithCompatibilityMapping }
        case .nfkd: Normalizer.unicode(&s) { $0.decomposedStringWithCompatibilityMapping }
        case .lowercase: Normalizer.lowercase(&s)
        case .stripAccents: Normalizer.filter(&s) { $0.properties.generalCategory != .nonspacingMark }
        case .bert(let clean, let chinese, let strip, let lower):
            if clean {
                Normalizer.filter(&s) { c in !(c.value == 0 || c.value == 0xFFFD || Normalizer.isBertControl(c)) }
                for i in s.scalars.indices where s.scalars[i] == "\t" || s.scalars[i] == "\n" || s.scalars[i] == "\r" || s.scalars[i].properties.isWhitespace { s.scalars[i] = " " }
            }
            if chinese, s.scalars.contains(where: Normalizer.isChinese) {
                var sc: [Unicode.Scalar] = [], al: [Range<Int>] = []
                for (c, a) in zip(s.scalars, s.align) {
                    if Normalizer.isChinese(c) { sc += [" ", c, " "]; al += [a, a, a] } else { sc.append(c); al.append(a) }
                }
                s.scalars = sc; s.align = al
            }
            if strip {
                Normalizer.unicode(&s) { $0.decomposedStringWithCanonicalMapping }
                Normalizer.filter(&s) { $0.properties.generalCategory != .nonspacingMark }
            }
            if lower { Normalizer.lowercase(&s) }
        case .precompiled(let map): map.apply(&s)
        default: applyRest(&s)
        }
    }

    private static func lowercase(_ s: inout NString) {
        var sc: [Unicode.Scalar] = [], al: [Range<Int>] = []
        sc.reserveCapacity(s.scalars.count); al.reserveCapacity(s.scalars.count)
        for (c, a) in zip(s.scalars, s.align) {
            if c.value < 0x80 { sc.append(c.value >= 0x41 && c.value <= 0x5A ? Unicode.Scalar(UInt8(c.value + 32)) : c); al.append(a); continue }
            for l in String(c).lowercased().unicodeScalars { sc.append(l); al.append(a) }
        }
        s.scalars = sc; s.align = al
    }

    private static func filter(_ s: inout NString, _ keep: (Unicode.Scalar) -> Bool) {
        var sc: [Unicode.Scalar] = [], al: [Range<Int>] = []
        for (c, a) in zip(s.scalars, s.align) where keep(c) { sc.append(c); al.append(a) }
        s.scalars = sc; s.align = al
    }

    /// BERT's control characters: Unicode "Other" (Cc, Cf, Cn, Co, Cs) except tab, newline and carriage return.
    private static func isBertControl(_ c: Unicode.Scalar) -> Bool {
        if c == "\t" || c == "\n" || c == "\r" { return false }
        switch c.properties.generalCategory {
        case .control, .format, .unassigned, .privateUse, .surrogate: return true
        default: return false
        }
    }

    /// The CJK ideograph blocks BERT surrounds with spaces.
    static func isChinese(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x4E00...0x9FFF, 0x3400...0x4DBF, 0x20000...0x2A6DF, 0x2A700...0x2B73F, 0x2B740...0x2B81F, 0x2B920...0x2CEAF, 0xF900...0xFAFF, 0x2F800...0x2FA1F: return true
        default: return false
        }
    }

    private func applyRest(_ s: inout NString) {
        switch self {
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
                // tokenizers inserts the content after the removed text: it takes the last removed char's alignment.
                let a = s.align[m.upperBound - 1]
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
        default: break
        }
    }

    /// Unicode normalization per grapheme cluster, so each output scalar keeps its cluster's original bytes.
    private static func unicode(_ s: inout NString, _ f: (String) -> String) {
        var sc: [Unicode.Scalar] = [], al: [Range<Int>] = []
        let str = s.string
        var idx = 0
        for ch in str {
            let n = ch.unicodeScalars.count
            // ASCII is unchanged by every normal form: no String round trip.
            if ch.isASCII {
                for k in idx..<idx + n { sc.append(s.scalars[k]); al.append(s.align[k]) }
                idx += n; continue
            }
            let a = s.align[idx].lowerBound..<s.align[idx + n - 1].upperBound
            let whole = Array(f(String(ch)).unicodeScalars)
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
            } else {
                // Prefer per-scalar alignment (HF maps each decomposed char to its source char) when it gives the same text.
                let per = (idx..<idx + n).map { i in (Array(f(String(s.scalars[i])).unicodeScalars), s.align[i]) }
                if per.flatMap({ $0.0 }) == whole {
                    for (cs, al1) in per { for c in cs { sc.append(c); al.append(al1) } }
                } else {
                    for c in whole { sc.append(c); al.append(a) }
                }
            }
            idx += n
        }
        s.scalars = sc; s.align = al
    }
}
