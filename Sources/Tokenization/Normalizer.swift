import Foundation
import Values

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
