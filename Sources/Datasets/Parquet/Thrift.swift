/// A problem inside a Parquet file, before the reader knows which file it is in; `ParquetFile` adds the path.
struct ParquetProblem: Error, Sendable {
    var reason: String
    var fix: String = "the file is damaged or not Parquet; re-download or re-save it (pyarrow: pq.write_table(t, f, compression='snappy'))"
}

/// Bounds-checked little-endian reads over part of a byte array; every read past `end` throws rather than traps.
struct ByteCursor {
    let bytes: [UInt8]
    var position: Int
    let end: Int
    let what: String

    init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil, what: String) {
        self.bytes = bytes
        self.position = start
        self.end = min(end ?? bytes.count, bytes.count)
        self.what = what
    }

    var remaining: Int { max(0, end - position) }

    func ends(_ needed: Int) -> ParquetProblem {
        ParquetProblem(reason: "\(what) ends early (\(needed) more bytes needed at byte \(position), \(remaining) left)")
    }

    mutating func byte() throws -> UInt8 {
        guard position < end else { throw ends(1) }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func take(_ count: Int) throws -> Range<Int> {
        guard count >= 0, count <= remaining else { throw ends(count) }
        defer { position += count }
        return position..<(position + count)
    }

    mutating func uint32LE() throws -> UInt32 {
        let r = try take(4)
        return (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[r.lowerBound + $1]) << (8 * $1) }
    }

    mutating func uint64LE() throws -> UInt64 {
        let r = try take(8)
        return (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[r.lowerBound + $1]) << (8 * $1) }
    }

    /// ULEB128, at most 10 bytes.
    mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            guard shift < 64 else { throw ParquetProblem(reason: "\(what) holds a variable-length integer longer than 10 bytes") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    mutating func zigzag() throws -> Int64 {
        let v = try varint()
        return Int64(bitPattern: (v >> 1) ^ (0 &- (v & 1)))
    }
}

/// A decoded Thrift compact-protocol value; Parquet's metadata structs are read from these by field id.
indirect enum ThriftValue: Sendable {
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case binary(ArraySlice<UInt8>)
    case list([ThriftValue])
    case map([(ThriftValue, ThriftValue)])
    case structure([Int16: ThriftValue])

    var int: Int64? { if case .int(let v) = self { return v }; return nil }
    var bool: Bool? { if case .bool(let v) = self { return v }; return nil }
    var string: String? { if case .binary(let b) = self { return String(decoding: b, as: UTF8.self) }; return nil }
    var list: [ThriftValue]? { if case .list(let v) = self { return v }; return nil }
    var fields: [Int16: ThriftValue]? { if case .structure(let v) = self { return v }; return nil }
}

/// Thrift compact protocol (the encoding of Parquet's footer and page headers), decoded without a schema.
/// Nesting depth and element counts are bounded so a damaged file cannot exhaust the stack or memory.
struct ThriftCompactReader {
    var cursor: ByteCursor
    static let maxDepth = 64

    init(_ cursor: ByteCursor) { self.cursor = cursor }

    mutating func readStruct(depth: Int = 0) throws -> [Int16: ThriftValue] {
        guard depth < Self.maxDepth else { throw ParquetProblem(reason: "\(cursor.what) nests deeper than \(Self.maxDepth) levels") }
        var fields: [Int16: ThriftValue] = [:]
        var lastId: Int16 = 0
        while true {
            let header = try cursor.byte()
            let type = header & 0x0F
            if type == 0 { return fields }
            let delta = Int16(header >> 4)
            let id: Int16
            if delta == 0 {
                let raw = try cursor.zigzag()
                guard let v = Int16(exactly: raw) else { throw ParquetProblem(reason: "\(cursor.what) has a field id out of range (\(raw))") }
                id = v
            } else {
                id = lastId &+ delta
            }
            lastId = id
            switch type {
            case 1: fields[id] = .bool(true)
            case 2: fields[id] = .bool(false)
            default: fields[id] = try readValue(type: type, depth: depth + 1)
            }
        }
    }

    mutating func readValue(type: UInt8, depth: Int) throws -> ThriftValue {
        switch type {
        case 1, 2: return .bool(try cursor.byte() == 1)
        case 3: return .int(Int64(Int8(bitPattern: try cursor.byte())))
        case 4, 5, 6: return .int(try cursor.zigzag())
        case 7: return .double(Double(bitPattern: try cursor.uint64LE()))
        case 8:
            let count = try length()
            return .binary(cursor.bytes[try cursor.take(count)])
        case 9, 10:
            let header = try cursor.byte()
            var count = Int(header >> 4)
            if count == 15 { count = try length() }
            guard count <= cursor.remaining else { throw cursor.ends(count) }
            let elementType = header & 0x0F
            var items: [ThriftValue] = []
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(try readValue(type: elementType, depth: depth + 1)) }
            return .list(items)
        case 11:
            let count = try length()
            guard count <= cursor.remaining else { throw cursor.ends(count) }
            if count == 0 { return .map([]) }
            let types = try cursor.byte()
            var entries: [(ThriftValue, ThriftValue)] = []
            for _ in 0..<count {
                let key = try readValue(type: types >> 4, depth: depth + 1)
                entries.append((key, try readValue(type: types & 0x0F, depth: depth + 1)))
            }
            return .map(entries)
        case 12: return .structure(try readStruct(depth: depth))
        default: throw ParquetProblem(reason: "\(cursor.what) holds an unknown Thrift type \(type) at byte \(cursor.position)")
        }
    }

    private mutating func length() throws -> Int {
        let raw = try cursor.varint()
        guard raw <= UInt64(cursor.remaining) else { throw cursor.ends(Int(clamping: raw)) }
        return Int(raw)
    }
}
