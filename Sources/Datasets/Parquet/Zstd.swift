import CZstd

/// ZSTD pages through Debian's libzstd: one or more zstd frames holding exactly the page's uncompressed size.
enum Zstd {
    /// zstd.h's ZSTD_CONTENTSIZE_UNKNOWN and ZSTD_CONTENTSIZE_ERROR (written as expressions Swift does not import).
    static let contentSizeUnknown = UInt64.max
    static let contentSizeError = UInt64.max - 1
    /// The densest zstd block (an RLE block: a 3-byte header and 1 byte) stands for 128 KiB.
    static let maxRatio = 32768

    static func decompress(_ input: ArraySlice<UInt8>, expectedSize: Int) throws -> [UInt8] {
        guard expectedSize <= input.count * maxRatio + (1 << 17) else {
            throw ParquetProblem(reason: "a zstd block of \(input.count) bytes claims to hold \(expectedSize)")
        }
        return try input.withUnsafeBufferPointer { source in
            try checkFrames(source, expectedSize: expectedSize)
            var out = [UInt8](repeating: 0, count: expectedSize)
            // libzstd wants a real pointer even for an empty page, so an empty buffer gets a one-byte stand-in.
            var spare: UInt8 = 0
            let result = out.withUnsafeMutableBytes { target in
                withUnsafeMutableBytes(of: &spare) { spare in
                    ZSTD_decompress(target.baseAddress ?? spare.baseAddress, target.count, source.baseAddress, source.count)
                }
            }
            if ZSTD_isError(result) != 0 {
                throw ParquetProblem(reason: "a zstd block cannot be decompressed (\(String(cString: ZSTD_getErrorName(result))))")
            }
            guard result == expectedSize else {
                throw ParquetProblem(reason: "a zstd block decompresses to \(result) bytes but its page header says \(expectedSize)")
            }
            return out
        }
    }

    /// Walks the frames before anything is allocated, so a damaged page header that claims a different size than
    /// the frames record is reported as such instead of as a memory request.
    static func checkFrames(_ source: UnsafeBufferPointer<UInt8>, expectedSize: Int) throws {
        guard let base = source.baseAddress, !source.isEmpty else {
            throw ParquetProblem(reason: "a zstd block is empty but its page header says \(expectedSize) bytes")
        }
        var offset = 0
        var total: UInt64 = 0
        while offset < source.count {
            let frame = base + offset
            let remaining = source.count - offset
            let length = ZSTD_findFrameCompressedSize(frame, remaining)
            if ZSTD_isError(length) != 0 {
                throw ParquetProblem(reason: "a zstd block has a damaged frame at byte \(offset) (\(String(cString: ZSTD_getErrorName(length))))")
            }
            let content = ZSTD_getFrameContentSize(frame, remaining)
            if content == contentSizeError {
                throw ParquetProblem(reason: "a zstd block has a damaged frame header at byte \(offset)")
            }
            // A frame that does not record its size leaves the check to ZSTD_decompress's output bound.
            if content == contentSizeUnknown { return }
            total &+= content
            guard total <= UInt64(expectedSize) else { break }
            offset += length
        }
        guard total == UInt64(expectedSize) else {
            let held = total > UInt64(expectedSize) ? "more than \(expectedSize)" : "only \(total)"
            throw ParquetProblem(reason: "a zstd block's frames hold \(held) bytes but its page header says \(expectedSize)")
        }
    }
}
