/// Prefix tests and replacement on Unicode scalars, as Rust's `str` does them: Swift's `String` compares
/// grapheme clusters (so "##\u{301}" does not start with "##") and Foundation's replace may fold canonical
/// equivalents, both of which would break parity on combining marks.
extension String {
    func scalarHasPrefix(_ p: String) -> Bool { unicodeScalars.starts(with: p.unicodeScalars) }
    func scalarDroppingPrefix(_ p: String) -> String? {
        guard scalarHasPrefix(p) else { return nil }
        var v = String.UnicodeScalarView()
        v.append(contentsOf: unicodeScalars.dropFirst(p.unicodeScalars.count))
        return String(v)
    }
    func scalarReplacing(_ target: String, with replacement: String) -> String {
        let t = Array(target.utf8)
        guard !t.isEmpty else { return self }
        let s = Array(utf8), r = Array(replacement.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var i = 0
        while i < s.count {
            if i + t.count <= s.count && s[i] == t[0] && s[i..<i + t.count].elementsEqual(t) { out += r; i += t.count } else { out.append(s[i]); i += 1 }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
