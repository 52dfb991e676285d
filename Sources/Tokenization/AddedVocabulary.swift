/// tokenizers' `AddedVocabulary`: added tokens are cut out in two passes, and the split must be the same to give
/// the same ids. Tokens with `normalized: false` are found in the raw text; the normalizer then runs on each piece
/// between them, and tokens with `normalized: true` are found in that normalized piece, as their own normalized
/// form (a Lowercase normalizer makes `HEY` match `hey`, a Llama `Prepend("▁")` makes `<x>` the pattern `▁<x>`).
/// Matching is leftmost-longest; `single_word`, `lstrip` and `rstrip` apply within the text being searched.
struct AddedVocabulary {
    let tokens: [AddedToken]
    let byContent: [[UInt8]: AddedToken]
    let byId: [Int: AddedToken]
    /// Non-normalized tokens (with their UTF-8) by first byte, longest first: pass 1 tests only these at each byte.
    private let rawByFirstByte: [[(AddedToken, [UInt8])]]
    /// Whether any non-normalized token starts with this byte: most bytes start none, and this test touches no array.
    private let rawStarts: [Bool]
    /// Normalized tokens' patterns (their normalized form) by first scalar, longest first, for pass 2.
    private let normalizedByFirst: [Unicode.Scalar: [(AddedToken, [Unicode.Scalar])]]
    /// What decode shows for a normalized token whose normalized form differs from its content (tokenizers
    /// decodes that form, so a `Prepend("▁")` token decodes with its `▁`).
    let decodeForms: [Int: String]
    /// Contents of the special tokens: decode's `skip_special_tokens` drops a token whose string is one of these.
    let specialContents: Set<String>

    var hasNormalized: Bool { !normalizedByFirst.isEmpty }

    init(_ tokens: [AddedToken], normalizer: Normalizer?) {
        self.tokens = tokens
        var byC: [[UInt8]: AddedToken] = [:], byI: [Int: AddedToken] = [:], fb = [[(AddedToken, [UInt8])]](repeating: [], count: 256)
        var norm: [Unicode.Scalar: [(AddedToken, [Unicode.Scalar])]] = [:], forms: [Int: String] = [:]
        for a in tokens {
            let u = Array(a.content.utf8)
            guard let first = u.first else { continue }
            byC[u] = a; byI[a.id] = a
            guard a.normalized else { fb[Int(first)].append((a, u)); continue }
            var ns = NString(utf8: u, 0..<u.count)
            normalizer?.apply(&ns)
            guard let head = ns.scalars.first else { continue }
            norm[head, default: []].append((a, ns.scalars))
            if ns.utf8 != u { forms[a.id] = ns.string }
        }
        byContent = byC; byId = byI
        rawByFirstByte = fb.map { $0.sorted { $0.1.count > $1.1.count } }
        rawStarts = fb.map { !$0.isEmpty }
        normalizedByFirst = norm.mapValues { $0.sorted { $0.1.count > $1.1.count } }
        decodeForms = forms
        specialContents = Set(tokens.filter(\.special).map(\.content))
    }

    /// The string tokenizers decodes for an added token id (its normalized form when that differs).
    func decodeString(_ id: Int) -> String? { decodeForms[id] ?? byId[id]?.content }

    /// Pass 1: splits raw UTF-8 into (span, token or nil, matched bytes before lstrip/rstrip) over non-normalized tokens.
    func splitRaw(_ bytes: [UInt8]) -> [(Range<Int>, AddedToken?, Range<Int>)] {
        let n = bytes.count
        func scalarBefore(_ p: Int) -> Unicode.Scalar? {
            guard p > 0 else { return nil }
            var q = p - 1
            while q > 0 && (bytes[q] & 0xC0) == 0x80 { q -= 1 }
            return bytes.withUnsafeBufferPointer { UTF8Scalars.decode($0, q, p).0 }
        }
        func scalarAt(_ p: Int) -> Unicode.Scalar? {
            guard p < n else { return nil }
            return bytes.withUnsafeBufferPointer { UTF8Scalars.decode($0, p, n).0 }
        }
        var out: [(Range<Int>, AddedToken?, Range<Int>)] = []
        var i = 0, segStart = 0
        while i < n {
            var matched: (AddedToken, Int)? = nil
            if rawStarts[Int(bytes[i])] {
                for (c, u) in rawByFirstByte[Int(bytes[i])] where i + u.count <= n && bytes[i..<i + u.count].elementsEqual(u) {
                    matched = (c, u.count); break
                }
            }
            guard let (m, len) = matched else { i += 1; while i < n && (bytes[i] & 0xC0) == 0x80 { i += 1 }; continue }
            // A rejected single-word match is still consumed: the search resumes after it, as tokenizers' does.
            if m.singleWord, (scalarBefore(i).map(isRustWordChar) ?? false) || (scalarAt(i + len).map(isRustWordChar) ?? false) { i += len; continue }
            var lo = i, hi = i + len
            if m.lstrip { while lo > segStart, let c = scalarBefore(lo), c.properties.isWhitespace { lo -= UTF8Scalars.length(c) } }
            if m.rstrip { while hi < n, let c = scalarAt(hi), c.properties.isWhitespace { hi += UTF8Scalars.length(c) } }
            if lo > segStart { out.append((segStart..<lo, nil, segStart..<lo)) }
            out.append((lo..<hi, m, i..<i + len))
            i = hi; segStart = hi
        }
        if segStart < n { out.append((segStart..<n, nil, segStart..<n)) }
        return out
    }

    /// Pass 2: splits a normalized piece into (scalar span, token or nil, matched scalars before lstrip/rstrip)
    /// over the normalized tokens, searching and stripping in the normalized text.
    func splitNormalized(_ s: NString) -> [(Range<Int>, AddedToken?, Range<Int>)] {
        let sc = s.scalars, n = sc.count
        guard hasNormalized else { return [(0..<n, nil, 0..<n)] }
        var out: [(Range<Int>, AddedToken?, Range<Int>)] = []
        var i = 0, segStart = 0
        while i < n {
            var matched: (AddedToken, Int)? = nil
            for (c, p) in normalizedByFirst[sc[i]] ?? [] where i + p.count <= n && sc[i..<i + p.count].elementsEqual(p) {
                matched = (c, p.count); break
            }
            guard let (m, len) = matched else { i += 1; continue }
            if m.singleWord, (i > 0 && isRustWordChar(sc[i - 1])) || (i + len < n && isRustWordChar(sc[i + len])) { i += len; continue }
            var lo = i, hi = i + len
            if m.lstrip { while lo > segStart && sc[lo - 1].properties.isWhitespace { lo -= 1 } }
            if m.rstrip { while hi < n && sc[hi].properties.isWhitespace { hi += 1 } }
            if lo > segStart { out.append((segStart..<lo, nil, segStart..<lo)) }
            out.append((lo..<hi, m, i..<i + len))
            i = hi; segStart = hi
        }
        if segStart < n { out.append((segStart..<n, nil, segStart..<n)) }
        return out
    }
}
