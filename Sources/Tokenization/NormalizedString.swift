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
