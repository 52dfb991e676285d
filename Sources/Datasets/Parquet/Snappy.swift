/// Raw (unframed) Snappy decompression, as Parquet stores SNAPPY pages: a length, then literals and back-references.
/// Written here so reading the Hub's default-compressed Parquet files needs no system library.
enum Snappy {
    static func decompress(_ input: ArraySlice<UInt8>, expectedSize: Int) throws -> [UInt8] {
        let bytes = Array(input)
        var cursor = ByteCursor(bytes, what: "a snappy block")
        let declared = try cursor.varint()
        guard declared == UInt64(expectedSize) else {
            throw ParquetProblem(reason: "a snappy block decompresses to \(declared) bytes but its page header says \(expectedSize)")
        }
        // The longest element (a 3-byte copy of 64 bytes) expands 22-fold, so a larger claim is damage.
        guard expectedSize <= input.count * 22 + 64 else {
            throw ParquetProblem(reason: "a snappy block of \(input.count) bytes claims to hold \(expectedSize)")
        }
        var out = [UInt8](repeating: 0, count: expectedSize)
        var written = 0
        try out.withUnsafeMutableBufferPointer { out in
            while cursor.remaining > 0 {
                let tag = try cursor.byte()
                let length: Int
                let offset: Int
                switch tag & 3 {
                case 0:
                    var n = Int(tag >> 2)
                    if n >= 60 {
                        let extra = n - 59
                        n = 0
                        for i in 0..<extra { n |= Int(try cursor.byte()) << (8 * i) }
                    }
                    let r = try cursor.take(n + 1)
                    guard written + r.count <= expectedSize else { throw overrun(expectedSize) }
                    _ = UnsafeMutableBufferPointer(rebasing: out[written..<(written + r.count)]).update(fromContentsOf: bytes[r])
                    written += r.count
                    continue
                case 1:
                    length = Int((tag >> 2) & 7) + 4
                    offset = Int(tag >> 5) << 8 | Int(try cursor.byte())
                case 2:
                    length = Int(tag >> 2) + 1
                    offset = Int(try cursor.byte()) | Int(try cursor.byte()) << 8
                default:
                    length = Int(tag >> 2) + 1
                    offset = Int(try cursor.uint32LE())
                }
                guard offset > 0, offset <= written else {
                    throw ParquetProblem(reason: "a snappy block refers back \(offset) bytes with only \(written) written")
                }
                guard written + length <= expectedSize else { throw overrun(expectedSize) }
                if offset >= length {
                    let source = UnsafeBufferPointer(rebasing: out[(written - offset)..<(written - offset + length)])
                    _ = UnsafeMutableBufferPointer(rebasing: out[written..<(written + length)]).update(fromContentsOf: source)
                    written += length
                } else {
                    // Byte by byte: the copy overlaps the bytes it is producing (a run).
                    for _ in 0..<length { out[written] = out[written - offset]; written += 1 }
                }
            }
        }
        guard written == expectedSize else {
            throw ParquetProblem(reason: "a snappy block decompresses to \(written) bytes, not the \(expectedSize) it declares")
        }
        return out
    }

    static func overrun(_ size: Int) -> ParquetProblem {
        ParquetProblem(reason: "a snappy block writes past its declared \(size) bytes")
    }
}
