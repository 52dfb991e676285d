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
        var out: [UInt8] = []
        out.reserveCapacity(expectedSize)
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
                guard out.count + r.count <= expectedSize else { throw overrun(expectedSize) }
                out.append(contentsOf: bytes[r])
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
            guard offset > 0, offset <= out.count else {
                throw ParquetProblem(reason: "a snappy block refers back \(offset) bytes with only \(out.count) written")
            }
            guard out.count + length <= expectedSize else { throw overrun(expectedSize) }
            let start = out.count - offset
            if offset >= length {
                out.append(contentsOf: out[start..<(start + length)])
            } else {
                for i in 0..<length { out.append(out[start + i]) }
            }
        }
        guard out.count == expectedSize else {
            throw ParquetProblem(reason: "a snappy block decompresses to \(out.count) bytes, not the \(expectedSize) it declares")
        }
        return out
    }

    static func overrun(_ size: Int) -> ParquetProblem {
        ParquetProblem(reason: "a snappy block writes past its declared \(size) bytes")
    }
}
