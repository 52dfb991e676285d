import Foundation
import Values

indirect enum TokenDecoder {
    case byteLevel, byteFallback, fuse
    case metaspace(String, Bool)
    case strip(String, Int, Int)
    case replace(String, String)
    case wordPiece(String, cleanup: Bool)
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
        case "WordPiece": self = .wordPiece(v["prefix"]?.stringValue ?? "##", cleanup: v["cleanup"]?.boolValue ?? true)
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
            // tokenizers drops every replacement char of the first token (not only a leading one) unless `never`.
            let rep = r.unicodeScalars.first ?? "▁"
            return tokens.enumerated().map { i, t in
                var v = String.UnicodeScalarView()
                for c in t.unicodeScalars {
                    if c == rep { if !(i == 0 && prepend) { v.append(" ") } } else { v.append(c) }
                }
                return String(v)
            }
        case .strip(let content, let start, let stop):
            let c = content.unicodeScalars.first
            return tokens.map { t in
                var cs = Array(t.unicodeScalars)
                var a = 0
                while a < start && a < cs.count && cs[a] == c { a += 1 }
                cs.removeFirst(a)
                var b = 0
                while b < stop && !cs.isEmpty && cs[cs.count - 1] == c { cs.removeLast(); b += 1 }
                var v = String.UnicodeScalarView(); v.append(contentsOf: cs)
                return String(v)
            }
        case .replace(let p, let c): return tokens.map { $0.scalarReplacing(p, with: c) }
        case .wordPiece(let prefix, let cleanup):
            return tokens.enumerated().map { i, t in
                var t = t
                if i != 0 { t = t.scalarDroppingPrefix(prefix) ?? " " + t }
                return cleanup ? TokenDecoder.cleanUp(t) : t
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

    /// tokenizers' `wordpiece::cleanup`: glue punctuation and English contractions back on.
    static func cleanUp(_ s: String) -> String {
        var s = s
        for (a, b) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
                       (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] { s = s.scalarReplacing(a, with: b) }
        return s
    }
}
