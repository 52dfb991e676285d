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

extension NString {
    /// tokenizers' `NormalizedString::transform`: each new scalar comes with its change — 0 replaces the next old
    /// scalar, -N replaces it and drops N more, > 0 is inserted and shares the previous old scalar's alignment.
    mutating func transform(_ dest: [(Unicode.Scalar, Int)], initialOffset: Int) {
        var sc: [Unicode.Scalar] = [], al: [Range<Int>] = []
        sc.reserveCapacity(dest.count); al.reserveCapacity(dest.count)
        var pos = initialOffset
        let empty = origin..<origin
        for (c, change) in dest {
            let a: Range<Int>
            if change > 0 { a = pos < 1 ? empty : align[min(pos - 1, align.count - 1)] }
            else { a = pos < align.count ? align[pos] : (align.last ?? empty) }
            if change <= 0 { pos += 1 - min(change, 0) }
            sc.append(c); al.append(a)
        }
        scalars = sc; align = al
    }
}
