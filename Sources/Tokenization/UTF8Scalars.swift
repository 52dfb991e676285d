/// UTF-8 encoding and decoding of single scalars without building a `String` per character: the encode path
/// touches every character several times, and a `String(c).utf8` there allocated for each.
enum UTF8Scalars {
    @inline(__always) static func append(_ s: Unicode.Scalar, to out: inout [UInt8]) {
        let v = s.value
        if v < 0x80 { out.append(UInt8(v)) }
        else if v < 0x800 { out.append(UInt8(0xC0 | v >> 6)); out.append(UInt8(0x80 | v & 0x3F)) }
        else if v < 0x10000 { out.append(UInt8(0xE0 | v >> 12)); out.append(UInt8(0x80 | v >> 6 & 0x3F)); out.append(UInt8(0x80 | v & 0x3F)) }
        else { out.append(UInt8(0xF0 | v >> 18)); out.append(UInt8(0x80 | v >> 12 & 0x3F)); out.append(UInt8(0x80 | v >> 6 & 0x3F)); out.append(UInt8(0x80 | v & 0x3F)) }
    }

    @inline(__always) static func length(_ s: Unicode.Scalar) -> Int {
        let v = s.value
        return v < 0x80 ? 1 : v < 0x800 ? 2 : v < 0x10000 ? 3 : 4
    }

    /// The scalar starting at `i` and its byte length; a malformed sequence gives U+FFFD over one byte.
    @inline(__always) static func decode(_ b: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int) -> (Unicode.Scalar, Int) {
        let c0 = UInt32(b[i])
        if c0 < 0x80 { return (Unicode.Scalar(UInt8(c0)), 1) }
        func cont(_ k: Int) -> UInt32? { i + k < end && b[i + k] & 0xC0 == 0x80 ? UInt32(b[i + k] & 0x3F) : nil }
        if c0 >= 0xC2 && c0 < 0xE0, let c1 = cont(1), let s = Unicode.Scalar((c0 & 0x1F) << 6 | c1) { return (s, 2) }
        if c0 >= 0xE0 && c0 < 0xF0, let c1 = cont(1), let c2 = cont(2), let s = Unicode.Scalar((c0 & 0x0F) << 12 | c1 << 6 | c2), s.value >= 0x800 { return (s, 3) }
        if c0 >= 0xF0 && c0 < 0xF5, let c1 = cont(1), let c2 = cont(2), let c3 = cont(3), let s = Unicode.Scalar((c0 & 0x07) << 18 | c1 << 12 | c2 << 6 | c3), s.value >= 0x10000 { return (s, 4) }
        return ("\u{FFFD}", 1)
    }
}

extension NString {
    /// The scalars of `bytes[r]` (valid UTF-8: it comes from a `String`), each aligned to its own bytes.
    init(utf8 bytes: [UInt8], _ r: Range<Int>) {
        var sc: [Unicode.Scalar] = [], al: [Range<Int>] = []
        sc.reserveCapacity(r.count); al.reserveCapacity(r.count)
        bytes.withUnsafeBufferPointer { b in
            var i = r.lowerBound
            while i < r.upperBound {
                let (s, n) = UTF8Scalars.decode(b, i, r.upperBound)
                sc.append(s); al.append(i..<i + n); i += n
            }
        }
        self.init(scalars: sc, align: al, origin: r.lowerBound)
    }

    /// UTF-8 of the scalars (the model's lookup key).
    var utf8: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(scalars.count)
        for s in scalars { UTF8Scalars.append(s, to: &out) }
        return out
    }
}

/// Rust's `char::is_numeric`: general categories Nd, Nl, No. (Swift's `numericType` also covers CJK ideographs
/// such as 一 that carry a Unihan numeric value, which Rust does not count.)
@inline(__always) func isRustNumeric(_ c: Unicode.Scalar) -> Bool {
    if c.value < 0x80 { return c.value >= 0x30 && c.value <= 0x39 }
    switch c.properties.generalCategory {
    case .decimalNumber, .letterNumber, .otherNumber: return true
    default: return false
    }
}

/// Rust regex's Unicode `\w`: Alphabetic, marks, decimal digits, connector punctuation and joiners.
func isRustWordChar(_ c: Unicode.Scalar) -> Bool {
    if c.value < 0x80 { return (c.value >= 0x30 && c.value <= 0x39) || (c.value | 0x20 >= 0x61 && c.value | 0x20 <= 0x7A) || c == "_" }
    if c.value == 0x200C || c.value == 0x200D || c.properties.isAlphabetic { return true }
    switch c.properties.generalCategory {
    case .nonspacingMark, .spacingMark, .enclosingMark, .decimalNumber, .connectorPunctuation: return true
    default: return false
    }
}

/// A word's UTF-8 as a cache key, hashed once in bulk when made (`[UInt8]`'s own hash feeds the hasher byte by
/// byte, and would run inside the cache lock).
struct ByteKey: Hashable {
    let bytes: [UInt8]
    let hash: Int
    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        var h = Hasher()
        bytes.withUnsafeBytes { h.combine(bytes: $0) }
        hash = h.finalize()
    }
    func hash(into h: inout Hasher) { h.combine(hash) }
    static func == (a: ByteKey, b: ByteKey) -> Bool { a.hash == b.hash && a.bytes == b.bytes }
}
