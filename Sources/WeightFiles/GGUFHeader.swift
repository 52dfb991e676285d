/// Validation of a GGUF header (magic, counts, metadata, tensor infos) before any offset is trusted.
/// Every read is bounds-checked; every count is checked against the bytes left before anything is allocated.
enum GGUFHeader {
    struct Parsed {
        var version: Int
        var metadata: [String: GGUFValue]
        var tensors: [GGUFTensorInfo]
        var alignment: Int
        var dataStart: Int
    }

    /// A little-endian reader over the mapped file that throws instead of reading past the end.
    struct Cursor {
        let b: UnsafeRawBufferPointer
        var at = 0
        let fail: (String) -> WeightFileError
        var what = "header"

        var left: Int { b.count - at }

        mutating func bytes(_ n: Int) throws -> UnsafeRawBufferPointer {
            guard n >= 0, n <= left else {
                throw fail("\(what) needs \(n) bytes at offset \(at) but the file ends at \(b.count); the file is truncated, download it again")
            }
            defer { at += n }
            return UnsafeRawBufferPointer(rebasing: b[at..<(at + n)])
        }
        mutating func u8() throws -> UInt8 { try bytes(1)[0] }
        mutating func u16() throws -> UInt16 { let r = try bytes(2); return UInt16(r[0]) | UInt16(r[1]) << 8 }
        mutating func u32() throws -> UInt32 { let r = try bytes(4); return (0..<4).reduce(0) { $0 | UInt32(r[$1]) << (8 * UInt32($1)) } }
        mutating func u64() throws -> UInt64 { let r = try bytes(8); return (0..<8).reduce(0) { $0 | UInt64(r[$1]) << (8 * UInt64($1)) } }

        /// A count that must fit in what is left of the file at `minBytes` per item, and under `cap`.
        mutating func count(_ name: String, minBytes: Int, cap: Int) throws -> Int {
            let n = try u64()
            guard n <= UInt64(cap) else {
                throw fail("\(name) is \(n), above the limit of \(cap); the file is corrupt or not a model file")
            }
            guard Int(n) <= left / max(minBytes, 1) else {
                throw fail("\(name) is \(n) but only \(left) bytes remain (each needs at least \(minBytes)); the file is truncated or corrupt, download it again")
            }
            return Int(n)
        }

        mutating func string(_ name: String, cap: Int = Int.max) throws -> String {
            let n = try u64()
            guard n <= UInt64(cap) else { throw fail("\(name) is \(n) bytes long, above the limit of \(cap); the file is corrupt") }
            guard n <= UInt64(left) else {
                throw fail("\(name) claims \(n) bytes at offset \(at) but only \(left) remain; the file is truncated, download it again")
            }
            let start = at
            guard let s = String(validating: try bytes(Int(n)), as: UTF8.self) else {
                throw fail("\(name) at offset \(start) is not valid UTF-8; the file is corrupt, download it again")
            }
            return s
        }
    }

    static func parse(_ b: UnsafeRawBufferPointer, fail: @escaping (String) -> WeightFileError) throws -> Parsed {
        var c = Cursor(b: b, fail: fail)
        let magic = try c.bytes(4)
        guard Array(magic) == Array("GGUF".utf8) else {
            let shown = Array(magic).map { (0x20..<0x7F).contains($0) ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }.joined()
            throw fail("bad magic \"\(shown)\", expected \"GGUF\"; this is not a GGUF file (or it is big-endian, which is not supported)")
        }
        let version = try c.u32()
        guard version == 2 || version == 3 else {
            throw fail("GGUF version \(version) is not supported (only 2 and 3); convert the model again with a current llama.cpp")
        }
        // A tensor info is at least 8 (name length) + 4 (n_dims) + 4 (type) + 8 (offset) bytes; a key/value 8 + 4 + 1.
        let tensorCount = try c.count("tensor count", minBytes: 24, cap: GGUFFile.maxTensors)
        let kvCount = try c.count("metadata entry count", minBytes: 13, cap: GGUFFile.maxMetadataEntries)

        var metadata: [String: GGUFValue] = [:]
        for i in 0..<kvCount {
            c.what = "metadata entry \(i)"
            let key = try c.string("metadata key \(i)", cap: GGUFFile.maxKeyBytes)
            c.what = "metadata \"\(key)\""
            let raw = try c.u32()
            let value = try readValue(&c, type: raw, key: key, depth: 0)
            guard metadata.updateValue(value, forKey: key) == nil else {
                throw fail("metadata key \"\(key)\" appears twice; the writer was faulty, convert the model again")
            }
        }

        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard case .uint32(let v) = a, v > 0, v & (v - 1) == 0, v <= 1 << 16 else {
                throw fail("general.alignment is \(a), not a uint32 power of two up to 65536; the file is corrupt")
            }
            alignment = Int(v)
        }

        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(tensorCount)
        var seen = Set<String>()
        for i in 0..<tensorCount {
            c.what = "tensor info \(i)"
            let name = try c.string("tensor \(i) name", cap: GGUFFile.maxKeyBytes)
            c.what = "tensor \"\(name)\" info"
            guard seen.insert(name).inserted else {
                throw fail("tensor name \"\(name)\" appears twice; the writer was faulty, convert the model again")
            }
            let nDims = try c.u32()
            guard nDims <= 4 else { throw fail("tensor \"\(name)\" has \(nDims) dimensions, ggml allows at most 4; the file is corrupt") }
            var dims: [Int] = []
            var elements = 1
            for _ in 0..<nDims {
                let d = try c.u64()
                guard d <= UInt64(Int64.max) else { throw fail("tensor \"\(name)\" has a dimension of \(d), which is negative as int64; the file is corrupt") }
                let r = elements.multipliedReportingOverflow(by: Int(d))
                guard !r.overflow else { throw fail("tensor \"\(name)\" dimensions overflow an int64 element count; the file is corrupt") }
                elements = r.partialValue
                dims.append(Int(d))
            }
            let rawType = try c.u32()
            guard let type = GGMLType(rawValue: rawType) else {
                throw fail("tensor \"\(name)\" has unknown ggml type \(rawType); this reader knows \(GGMLType.allCases.map { "\($0.name)=\($0.rawValue)" }.joined(separator: ", ")); the file needs a newer reader or is corrupt")
            }
            let offset = try c.u64()
            let (be, bb) = type.blockLayout
            let row = dims.first ?? 1
            guard row % be == 0 else {
                throw fail("tensor \"\(name)\" rows of \(row) elements are not a whole number of \(type.name) blocks of \(be); the file is corrupt")
            }
            let (byteCount, bytesOverflow) = (elements / be).multipliedReportingOverflow(by: bb)
            guard !bytesOverflow else { throw fail("tensor \"\(name)\" byte size overflows an int64; the file is corrupt") }
            guard offset % UInt64(alignment) == 0 else {
                throw fail("tensor \"\(name)\" offset \(offset) is not a multiple of the alignment \(alignment); the file is corrupt")
            }
            guard offset <= UInt64(Int64.max) else { throw fail("tensor \"\(name)\" offset \(offset) is out of range; the file is corrupt") }
            tensors.append(GGUFTensorInfo(name: name, ggmlType: type, shape: dims.reversed(), offset: Int(offset), byteCount: byteCount))
        }

        let padded = (c.at + alignment - 1) / alignment * alignment
        let dataStart = tensors.isEmpty ? min(padded, b.count) : padded
        let dataLength = b.count - dataStart
        guard dataLength >= 0 else {
            throw fail("data section would start at \(dataStart) but the file is \(b.count) bytes; the file is truncated, download it again")
        }
        for t in tensors {
            let (end, o) = t.offset.addingReportingOverflow(t.byteCount)
            guard !o, end <= dataLength else {
                throw fail("tensor \"\(t.name)\" (\(t.ggmlType.name), shape \(t.shape)) spans data bytes \(t.offset)..<\(t.offset &+ t.byteCount), past the end of the \(dataLength)-byte data section; the file is truncated or corrupt, download it again")
            }
        }
        var end = 0
        var previous = ""
        for t in tensors.sorted(by: { ($0.offset, $0.byteCount) < ($1.offset, $1.byteCount) }) {
            if t.offset < end && t.byteCount > 0 {
                throw fail("tensor \"\(t.name)\" bytes at \(t.offset) overlap tensor \"\(previous)\" (which ends at \(end)); the file is corrupt, convert the model again")
            }
            if t.byteCount > 0 { end = t.offset + t.byteCount; previous = t.name }
        }
        return Parsed(version: Int(version), metadata: metadata, tensors: tensors, alignment: alignment, dataStart: dataStart)
    }

    /// Smallest encoding of one value of each type, for checking array counts against the bytes left.
    static func minBytes(_ type: UInt32) -> Int {
        switch type {
        case 0, 1, 7: return 1
        case 2, 3: return 2
        case 4, 5, 6: return 4
        case 8, 10, 11, 12: return 8
        case 9: return 12
        default: return 1
        }
    }

    static func readValue(_ c: inout Cursor, type: UInt32, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint8(try c.u8())
        case 1: return .int8(Int8(bitPattern: try c.u8()))
        case 2: return .uint16(try c.u16())
        case 3: return .int16(Int16(bitPattern: try c.u16()))
        case 4: return .uint32(try c.u32())
        case 5: return .int32(Int32(bitPattern: try c.u32()))
        case 6: return .float32(Float(bitPattern: try c.u32()))
        case 7:
            let v = try c.u8()
            guard v <= 1 else { throw c.fail("metadata \"\(key)\" is a bool stored as \(v), not 0 or 1; the file is corrupt") }
            return .bool(v == 1)
        case 8: return .string(try c.string("metadata \"\(key)\" string"))
        case 9:
            guard depth < GGUFFile.maxArrayNesting else {
                throw c.fail("metadata \"\(key)\" nests arrays deeper than \(GGUFFile.maxArrayNesting); the file is corrupt")
            }
            let elementType = try c.u32()
            guard elementType <= 12 else {
                throw c.fail("metadata \"\(key)\" is an array of unknown value type \(elementType) (known: 0–12); the file is corrupt or needs a newer reader")
            }
            let n = try c.count("metadata \"\(key)\" array length", minBytes: minBytes(elementType), cap: GGUFFile.maxArrayLength)
            var out: [GGUFValue] = []
            out.reserveCapacity(n)
            for _ in 0..<n { out.append(try readValue(&c, type: elementType, key: key, depth: depth + 1)) }
            return .array(out)
        case 10: return .uint64(try c.u64())
        case 11: return .int64(Int64(bitPattern: try c.u64()))
        case 12: return .float64(Double(bitPattern: try c.u64()))
        default:
            throw c.fail("metadata \"\(key)\" has unknown value type \(type) (known: 0–12); the file is corrupt or needs a newer reader")
        }
    }
}
