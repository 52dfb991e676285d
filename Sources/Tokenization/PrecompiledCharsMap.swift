/// SentencePiece's `precompiled_charsmap` (T5, ALBERT, XLM-R, mBART): a darts-clone double-array trie from UTF-8
/// strings to replacement strings, applied per grapheme cluster as tokenizers' `Precompiled` normalizer does.
/// Layout: u32 little-endian trie size in bytes, the trie's u32 units, then NUL-terminated replacements.
struct PrecompiledCharsMap: Sendable {
    private let units: [UInt32]
    private let replacements: [UInt8]

    init(_ blob: [UInt8]) throws {
        guard blob.count >= 4 else { throw TokenizerError("tokenizer.json: Precompiled.precompiled_charsmap is \(blob.count) bytes, too short for its header; fix the file") }
        let size = Int(UInt32(blob[0]) | UInt32(blob[1]) << 8 | UInt32(blob[2]) << 16 | UInt32(blob[3]) << 24)
        guard size % 4 == 0, 4 + size <= blob.count else { throw TokenizerError("tokenizer.json: Precompiled.precompiled_charsmap says its trie is \(size) bytes but holds \(blob.count - 4); fix the file") }
        var u: [UInt32] = []
        u.reserveCapacity(size / 4)
        var i = 4
        while i < 4 + size { u.append(UInt32(blob[i]) | UInt32(blob[i + 1]) << 8 | UInt32(blob[i + 2]) << 16 | UInt32(blob[i + 3]) << 24); i += 4 }
        units = u; replacements = Array(blob[(4 + size)...])
    }

    private static func hasLeaf(_ u: UInt32) -> Bool { (u >> 8) & 1 == 1 }
    private static func value(_ u: UInt32) -> Int { Int(u & ((1 << 31) - 1)) }
    private static func label(_ u: UInt32) -> UInt32 { u & ((1 << 31) | 0xFF) }
    private static func offset(_ u: UInt32) -> Int { Int((u >> 10) << ((u & (1 << 9)) >> 6)) }

    /// The replacement of the SHORTEST entry that is a prefix of `key` (spm_precompiled's `transform`, which
    /// takes the first common-prefix result), or nil.
    func transform(_ key: [UInt8]) -> [UInt8]? {
        guard !units.isEmpty else { return nil }
        var pos = Self.offset(units[0])
        for c in key {
            if c == 0 { break }
            pos ^= Int(c)
            guard pos >= 0, pos < units.count else { return nil }
            let unit = units[pos]
            if Self.label(unit) != UInt32(c) { return nil }
            pos ^= Self.offset(unit)
            if Self.hasLeaf(unit) {
                guard pos >= 0, pos < units.count else { return nil }
                let start = Self.value(units[pos])
                guard start <= replacements.count else { return nil }
                var end = start
                while end < replacements.count && replacements[end] != 0 { end += 1 }
                return Array(replacements[start..<end])
            }
        }
        return nil
    }

    /// Rewrites `s` grapheme by grapheme (whole clusters under 6 bytes first, else each scalar). Alignments as
    /// tokenizers 0.23 reports them (checked against it): the first new char stands for all replaced chars, the
    /// rest are insertions; a replacement by nothing is removed with the previous char, and is lost (offsets
    /// shift) at the very start.
    func apply(_ s: inout NString) {
        var dest: [(Unicode.Scalar, Int)] = []
        var modified = false
        func push(_ norm: [UInt8], replacing old: Int) {
            let new = Array(String(decoding: norm, as: UTF8.self).unicodeScalars)
            modified = true
            guard !new.isEmpty else { if !dest.isEmpty { dest[dest.count - 1].1 -= old }; return }
            for (i, c) in new.enumerated() { dest.append((c, i == 0 ? 1 - old : 1)) }
        }
        for g in s.string {
            let gb = Array(g.utf8)
            if gb.count < 6, let norm = transform(gb) { push(norm, replacing: g.unicodeScalars.count); continue }
            for c in g.unicodeScalars {
                if let norm = transform(Array(String(c).utf8)) { push(norm, replacing: 1) } else { dest.append((c, 0)) }
            }
        }
        if modified { s.transform(dest, initialOffset: 0) }
    }
}
