import CZlib

/// GZIP pages through Debian's zlib. Parquet's GZIP codec is a gzip stream (some writers emit a bare zlib stream,
/// so both headers are accepted); concatenated members are read one after another.
enum Gzip {
    /// Deflate expands at most about 1032-fold, so a page header claiming more than that is damage.
    static let maxRatio = 1032

    static func decompress(_ input: ArraySlice<UInt8>, expectedSize: Int) throws -> [UInt8] {
        guard input.count <= Int(UInt32.max), expectedSize <= input.count * maxRatio + 1024 else {
            throw ParquetProblem(reason: "a gzip block of \(input.count) bytes claims to hold \(expectedSize)")
        }
        var stream = z_stream()
        // windowBits 15 + 32: the largest window, with the gzip or zlib header detected automatically.
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ParquetProblem(reason: "zlib could not start inflating (out of memory?)", fix: "free some memory and try again")
        }
        defer { inflateEnd(&stream) }
        // One spare byte so that a stream holding more than the header says is caught rather than cut short.
        var out = [UInt8](repeating: 0, count: expectedSize + 1)
        let written: Int = try input.withUnsafeBufferPointer { source in
            try out.withUnsafeMutableBufferPointer { target in
                stream.next_in = source.baseAddress
                stream.avail_in = UInt32(source.count)
                stream.next_out = target.baseAddress
                stream.avail_out = UInt32(target.count)
                while true {
                    let status = inflate(&stream, Z_FINISH)
                    switch status {
                    case Z_STREAM_END:
                        // Counted from the buffer, not total_out, which inflateReset clears between members.
                        if stream.avail_in == 0 { return target.count - Int(stream.avail_out) }
                        guard inflateReset(&stream) == Z_OK else { throw problem(stream, status) }
                    case Z_OK:
                        continue
                    case Z_BUF_ERROR where stream.avail_out == 0:
                        throw ParquetProblem(reason: "a gzip block decompresses to more than the \(expectedSize) bytes its page header says")
                    case Z_BUF_ERROR:
                        throw ParquetProblem(reason: "a gzip block ends early, after \(target.count - Int(stream.avail_out)) of \(expectedSize) bytes (the file is truncated or damaged)")
                    default:
                        throw problem(stream, status)
                    }
                }
            }
        }
        guard written == expectedSize else {
            throw ParquetProblem(reason: "a gzip block decompresses to \(written) bytes but its page header says \(expectedSize)")
        }
        out.removeLast()
        return out
    }

    static func problem(_ stream: z_stream, _ status: Int32) -> ParquetProblem {
        let message = stream.msg.map { String(cString: $0) } ?? "zlib status \(status)"
        return ParquetProblem(reason: "a gzip block cannot be inflated (\(message))")
    }
}
