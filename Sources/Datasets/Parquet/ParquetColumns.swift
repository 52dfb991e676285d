import Foundation
import Values

/// A leaf column's stored type and annotation: enough to turn its bytes into `Value`s.
struct LeafKind: Sendable {
    var physical: PhysicalType
    var typeLength: Int
    var annotation: Annotation
}

/// Parquet's value encodings, each decoding `count` values from a page body into `Value`s.
enum ColumnDecoding {
    static func bitWidth(_ maxValue: Int) -> Int { maxValue <= 0 ? 0 : Int.bitWidth - maxValue.leadingZeroBitCount }

    /// The RLE / bit-packed hybrid (levels, dictionary indices, RLE booleans): runs of one value, or groups of 8
    /// values packed LSB-first at `bitWidth` bits.
    static func hybrid(_ c: inout ByteCursor, bitWidth: Int, count: Int) throws -> [Int] {
        guard (0...32).contains(bitWidth) else { throw ParquetProblem(reason: "an RLE run has bit width \(bitWidth), over 32") }
        var out: [Int] = []
        out.reserveCapacity(min(count, 1 << 20))
        while out.count < count {
            let header = try c.varint()
            if header & 1 == 0 {
                let run = header >> 1
                var value = 0
                for i in 0..<((bitWidth + 7) / 8) { value |= Int(try c.byte()) << (8 * i) }
                guard run <= UInt64(count - out.count) else {
                    out.append(contentsOf: repeatElement(value, count: count - out.count))
                    break
                }
                out.append(contentsOf: repeatElement(value, count: Int(run)))
            } else {
                let groups = header >> 1
                guard groups <= UInt64(c.remaining) else { throw c.ends(Int(clamping: groups)) }
                let r = try c.take(Int(groups) * bitWidth)
                let wanted = min(Int(groups) * 8, count - out.count)
                try unpack(c.bytes, r, bitWidth: bitWidth, count: wanted, into: &out)
            }
        }
        return out
    }

    /// `count` values packed LSB-first at `bitWidth` bits from the bytes in `range`.
    static func unpack(_ bytes: [UInt8], _ range: Range<Int>, bitWidth: Int, count: Int, into out: inout [Int]) throws {
        guard count * bitWidth <= range.count * 8 else { throw ParquetProblem(reason: "bit-packed values need more bytes than the page holds") }
        if bitWidth == 0 { out.append(contentsOf: repeatElement(0, count: count)); return }
        let mask = UInt64(1) << UInt64(bitWidth) &- 1
        var bit = 0
        for _ in 0..<count {
            var byteIndex = range.lowerBound + bit >> 3
            var shift = bit & 7
            var value: UInt64 = 0
            var got = 0
            while got < bitWidth {
                value |= UInt64(bytes[byteIndex] >> UInt8(shift)) << UInt64(got)
                got += 8 - shift
                shift = 0
                byteIndex += 1
            }
            out.append(Int(value & mask))
            bit += bitWidth
        }
    }

    static func plain(_ c: inout ByteCursor, kind: LeafKind, count: Int) throws -> [Value] {
        var out: [Value] = []
        out.reserveCapacity(count)
        switch kind.physical {
        case .boolean:
            let r = try c.take((count + 7) / 8)
            for i in 0..<count { out.append(.bool(c.bytes[r.lowerBound + i >> 3] >> UInt8(i & 7) & 1 == 1)) }
        case .int32:
            guard count <= c.remaining / 4 else { throw c.ends(count * 4) }
            for _ in 0..<count { out.append(int32(Int32(bitPattern: try c.uint32LE()), kind)) }
        case .int64:
            guard count <= c.remaining / 8 else { throw c.ends(count * 8) }
            for _ in 0..<count { out.append(int64(Int64(bitPattern: try c.uint64LE()), kind)) }
        case .int96:
            guard count <= c.remaining / 12 else { throw c.ends(count * 12) }
            for _ in 0..<count {
                let nanos = Int64(bitPattern: try c.uint64LE())
                let day = Int64(try c.uint32LE())
                let (ns, overflow) = (day - 2_440_588).multipliedReportingOverflow(by: 86_400_000_000_000)
                out.append(overflow ? .double(Double(day - 2_440_588) * 86_400e9 + Double(nanos)) : .int(Int(ns &+ nanos)))
            }
        case .float:
            guard count <= c.remaining / 4 else { throw c.ends(count * 4) }
            for _ in 0..<count { out.append(.double(Double(Float(bitPattern: try c.uint32LE())))) }
        case .double:
            guard count <= c.remaining / 8 else { throw c.ends(count * 8) }
            for _ in 0..<count { out.append(.double(Double(bitPattern: try c.uint64LE()))) }
        case .byteArray:
            for _ in 0..<count {
                let n = Int(try c.uint32LE())
                out.append(bytes(c.bytes[try c.take(n)], kind))
            }
        case .fixedLenByteArray:
            guard kind.typeLength > 0 else { throw ParquetProblem(reason: "a fixed-length byte array column has length \(kind.typeLength)") }
            guard count <= c.remaining / kind.typeLength else { throw c.ends(count * kind.typeLength) }
            for _ in 0..<count { out.append(bytes(c.bytes[try c.take(kind.typeLength)], kind)) }
        }
        return out
    }

    /// DELTA_BINARY_PACKED: a first value, then blocks of bit-packed deltas above each block's minimum delta.
    static func deltaBinaryPacked(_ c: inout ByteCursor, expected: Int) throws -> [Int64] {
        let blockSize = try c.varint()
        let miniblocks = try c.varint()
        let total = try c.varint()
        var value = try c.zigzag()
        guard blockSize > 0, blockSize % 128 == 0, blockSize <= 1 << 20, miniblocks > 0, blockSize % miniblocks == 0,
              (blockSize / miniblocks) % 32 == 0 else {
            throw ParquetProblem(reason: "a delta-encoded page has an invalid block layout (\(blockSize) values in \(miniblocks) miniblocks)")
        }
        guard total == UInt64(expected) else { throw ParquetProblem(reason: "a delta-encoded page declares \(total) values where its levels promise \(expected)") }
        let perMiniblock = Int(blockSize / miniblocks)
        var out: [Int64] = []
        out.reserveCapacity(Int(total))
        if total > 0 { out.append(value) }
        var deltas: [Int] = []
        while out.count < Int(total) {
            let minDelta = try c.zigzag()
            let widths = try c.take(Int(miniblocks))
            for m in 0..<Int(miniblocks) where out.count < Int(total) {
                let width = Int(c.bytes[widths.lowerBound + m])
                guard width <= 64 else { throw ParquetProblem(reason: "a delta-encoded miniblock has bit width \(width)") }
                let r = try c.take(perMiniblock * width / 8)
                let wanted = min(perMiniblock, Int(total) - out.count)
                deltas.removeAll(keepingCapacity: true)
                if width < 64 {
                    try unpack(c.bytes, r, bitWidth: width, count: wanted, into: &deltas)
                    for d in deltas {
                        value = value &+ minDelta &+ Int64(d)
                        out.append(value)
                    }
                } else {
                    for i in 0..<wanted {
                        let raw = (0..<8).reduce(UInt64(0)) { $0 | UInt64(c.bytes[r.lowerBound + i * 8 + $1]) << (8 * $1) }
                        value = value &+ minDelta &+ Int64(bitPattern: raw)
                        out.append(value)
                    }
                }
            }
        }
        return out
    }

    static func lengths(_ c: inout ByteCursor, expected: Int) throws -> [Int] {
        try deltaBinaryPacked(&c, expected: expected).map { n in
            guard n >= 0, n <= Int64(c.end) else { throw ParquetProblem(reason: "a delta-encoded byte array has length \(n)") }
            return Int(n)
        }
    }

    /// DELTA_LENGTH_BYTE_ARRAY: all lengths (delta-packed), then all the bytes.
    static func deltaLengthByteArray(_ c: inout ByteCursor, expected: Int) throws -> [ArraySlice<UInt8>] {
        let lengths = try lengths(&c, expected: expected)
        return try lengths.map { c.bytes[try c.take($0)] }
    }

    /// DELTA_BYTE_ARRAY: each value is a prefix of the previous one plus a suffix.
    static func deltaByteArray(_ c: inout ByteCursor, expected: Int) throws -> [[UInt8]] {
        let prefixes = try lengths(&c, expected: expected)
        let suffixes = try deltaLengthByteArray(&c, expected: expected)
        guard prefixes.count == suffixes.count else { throw ParquetProblem(reason: "a DELTA_BYTE_ARRAY page has \(prefixes.count) prefixes but \(suffixes.count) suffixes") }
        var previous: [UInt8] = []
        var out: [[UInt8]] = []
        for (prefix, suffix) in zip(prefixes, suffixes) {
            guard prefix <= previous.count else { throw ParquetProblem(reason: "a DELTA_BYTE_ARRAY value shares \(prefix) bytes with a \(previous.count)-byte predecessor") }
            previous = Array(previous[0..<prefix]) + suffix
            out.append(previous)
        }
        return out
    }

    /// BYTE_STREAM_SPLIT: byte k of every value stored together, for floating point (and fixed-width) columns.
    static func byteStreamSplit(_ c: inout ByteCursor, kind: LeafKind, count: Int) throws -> [Value] {
        let width: Int
        switch kind.physical {
        case .float, .int32: width = 4
        case .double, .int64: width = 8
        case .fixedLenByteArray: width = kind.typeLength
        default: throw ParquetProblem(reason: "BYTE_STREAM_SPLIT is not defined for \(kind.physical) columns")
        }
        guard width > 0, count <= c.remaining / width else { throw c.ends(count * max(width, 1)) }
        let r = try c.take(count * width)
        var joined = [UInt8](repeating: 0, count: count * width)
        for i in 0..<count { for k in 0..<width { joined[i * width + k] = c.bytes[r.lowerBound + k * count + i] } }
        var inner = ByteCursor(joined, what: c.what)
        return try plain(&inner, kind: kind, count: count)
    }

    static func int32(_ v: Int32, _ kind: LeafKind) -> Value {
        switch kind.annotation {
        case .integer(_, signed: false): return .int(Int(UInt32(bitPattern: v)))
        case .decimal(let scale): return .double(Double(v) / pow(10, Double(scale)))
        default: return .int(Int(v))
        }
    }

    static func int64(_ v: Int64, _ kind: LeafKind) -> Value {
        switch kind.annotation {
        case .integer(_, signed: false):
            let u = UInt64(bitPattern: v)
            return u <= UInt64(Int.max) ? .int(Int(u)) : .double(Double(u))
        case .decimal(let scale): return .double(Double(v) / pow(10, Double(scale)))
        default: return .int(Int(v))
        }
    }

    /// Strings for text annotations; other bytes become a string when they are UTF-8 and base64 text when not
    /// (compact, where a list of byte values would cost a `Value` per byte of an image column).
    static func bytes(_ b: ArraySlice<UInt8>, _ kind: LeafKind) -> Value {
        switch kind.annotation {
        case .string, .json, .enumeration: return .string(String(decoding: b, as: UTF8.self))
        case .decimal(let scale):
            return .double(decimal(b) / pow(10, Double(scale)))
        case .float16 where b.count == 2:
            return .double(Double(half(UInt16(b[b.startIndex]) | UInt16(b[b.startIndex + 1]) << 8)))
        default:
            return .string(String(validating: b, as: UTF8.self) ?? Data(b).base64EncodedString())
        }
    }

    /// A big-endian two's-complement integer, as a Double.
    static func decimal(_ b: ArraySlice<UInt8>) -> Double {
        guard let first = b.first else { return 0 }
        var magnitude = 0.0
        for byte in b { magnitude = magnitude * 256 + Double(byte) }
        return first & 0x80 != 0 ? magnitude - pow(256, Double(b.count)) : magnitude
    }

    static func half(_ h: UInt16) -> Float {
        let sign: Float = h & 0x8000 != 0 ? -1 : 1
        let exponent = Int(h >> 10 & 0x1F)
        let fraction = Float(h & 0x3FF)
        switch exponent {
        case 0: return sign * fraction * pow(2, -24)
        case 31: return fraction == 0 ? sign * .infinity : .nan
        default: return sign * (1 + fraction / 1024) * pow(2, Float(exponent - 15))
        }
    }
}
