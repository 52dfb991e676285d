/// The parts of Parquet's Thrift metadata (parquet.thrift) the reader needs, read by field id.

enum PhysicalType: Int64, Sendable {
    case boolean = 0, int32, int64, int96, float, double, byteArray, fixedLenByteArray
}

enum Repetition: Int64, Sendable { case required = 0, optional, repeated }

enum Codec: Int64, Sendable {
    case uncompressed = 0, snappy, gzip, lzo, brotli, lz4, zstd, lz4Raw

    var name: String {
        switch self {
        case .uncompressed: return "no"
        case .snappy: return "SNAPPY"
        case .gzip: return "GZIP"
        case .lzo: return "LZO"
        case .brotli: return "BROTLI"
        case .lz4, .lz4Raw: return "LZ4"
        case .zstd: return "ZSTD"
        }
    }
}

enum Encoding: Int64, Sendable {
    case plain = 0, plainDictionary = 2, rle = 3, bitPacked = 4, deltaBinaryPacked = 5, deltaLengthByteArray = 6,
         deltaByteArray = 7, rleDictionary = 8, byteStreamSplit = 9
}

/// What a column's bytes mean beyond their physical type: the converted type and the newer logical type, merged.
enum Annotation: Sendable, Equatable {
    case none, string, json, map, list, enumeration, date, decimal(scale: Int), integer(bits: Int, signed: Bool),
         timestamp, time, uuid, float16, other
}

struct SchemaElement: Sendable {
    var type: PhysicalType?
    var typeLength: Int
    var repetition: Repetition
    var name: String
    var numChildren: Int
    var annotation: Annotation

    init(_ f: [Int16: ThriftValue]) throws {
        type = try f[1]?.int.map { raw in
            guard let t = PhysicalType(rawValue: raw) else { throw ParquetProblem(reason: "the schema names an unknown physical type \(raw)") }
            return t
        }
        typeLength = Int(clamping: f[2]?.int ?? 0)
        guard (0...Int(Int32.max)).contains(typeLength) else { throw ParquetProblem(reason: "the schema has a fixed length of \(typeLength) bytes") }
        repetition = Repetition(rawValue: f[3]?.int ?? 0) ?? .required
        name = f[4]?.string ?? ""
        numChildren = Int(clamping: f[5]?.int ?? 0)
        let scale = Int(clamping: f[7]?.int ?? 0)
        annotation = Self.annotation(converted: f[6]?.int, logical: f[10]?.fields, scale: scale)
    }

    static func annotation(converted: Int64?, logical: [Int16: ThriftValue]?, scale: Int) -> Annotation {
        if let logical, let (id, value) = logical.first {
            switch id {
            case 1: return .string
            case 2: return .map
            case 3: return .list
            case 4: return .enumeration
            case 5: return .decimal(scale: Int(clamping: value.fields?[1]?.int ?? Int64(scale)))
            case 6: return .date
            case 7: return .time
            case 8: return .timestamp
            case 10:
                let bits = Int(clamping: value.fields?[1]?.int ?? 64)
                return .integer(bits: bits, signed: value.fields?[2]?.bool ?? true)
            case 12: return .json
            case 14: return .uuid
            case 15: return .float16
            default: break
            }
        }
        switch converted {
        case nil: return .none
        case 0: return .string
        case 1, 2: return .map
        case 3: return .list
        case 4: return .enumeration
        case 5: return .decimal(scale: scale)
        case 6: return .date
        case 7, 8: return .time
        case 9, 10: return .timestamp
        case 11: return .integer(bits: 8, signed: false)
        case 12: return .integer(bits: 16, signed: false)
        case 13: return .integer(bits: 32, signed: false)
        case 14: return .integer(bits: 64, signed: false)
        case 15: return .integer(bits: 8, signed: true)
        case 16: return .integer(bits: 16, signed: true)
        case 17: return .integer(bits: 32, signed: true)
        case 18: return .integer(bits: 64, signed: true)
        case 19: return .json
        default: return .other
        }
    }
}

struct ColumnMetaData: Sendable {
    var type: PhysicalType
    var path: [String]
    var codec: Codec
    var numValues: Int
    var totalCompressedSize: Int
    var dataPageOffset: Int
    var dictionaryPageOffset: Int?

    init(_ f: [Int16: ThriftValue]) throws {
        guard let rawType = f[1]?.int, let t = PhysicalType(rawValue: rawType) else { throw ParquetProblem(reason: "a column chunk has no valid type") }
        type = t
        path = (f[3]?.list ?? []).compactMap(\.string)
        let rawCodec = f[4]?.int ?? 0
        guard let c = Codec(rawValue: rawCodec) else {
            throw ParquetProblem(reason: "column \(path.joined(separator: ".")) uses unknown compression codec \(rawCodec)",
                                 fix: "re-save with snappy, gzip or zstd (pyarrow: pq.write_table(t, f, compression='zstd'))")
        }
        codec = c
        numValues = Int(clamping: f[5]?.int ?? 0)
        totalCompressedSize = Int(clamping: f[7]?.int ?? 0)
        guard let offset = f[9]?.int else { throw ParquetProblem(reason: "column \(path.joined(separator: ".")) has no data page offset") }
        dataPageOffset = Int(clamping: offset)
        dictionaryPageOffset = f[11]?.int.map { Int(clamping: $0) }
    }
}

struct RowGroup: Sendable {
    var columns: [ColumnMetaData]
    var numRows: Int

    init(_ f: [Int16: ThriftValue]) throws {
        columns = try (f[1]?.list ?? []).map { chunk in
            guard let c = chunk.fields else { throw ParquetProblem(reason: "a row group's column chunk is not a struct") }
            if let external = c[1]?.string, !external.isEmpty {
                throw ParquetProblem(reason: "a column chunk lives in another file (\(external))", fix: "read the dataset's data files directly, not its _metadata file")
            }
            guard let meta = c[3]?.fields else { throw ParquetProblem(reason: "a column chunk has no metadata") }
            return try ColumnMetaData(meta)
        }
        numRows = Int(clamping: f[3]?.int ?? 0)
        guard numRows >= 0 else { throw ParquetProblem(reason: "a row group has a negative row count") }
    }
}

struct FileMetaData: Sendable {
    var schema: [SchemaElement]
    var numRows: Int
    var rowGroups: [RowGroup]

    init(_ f: [Int16: ThriftValue]) throws {
        schema = try (f[2]?.list ?? []).map { element in
            guard let e = element.fields else { throw ParquetProblem(reason: "a schema element is not a struct") }
            return try SchemaElement(e)
        }
        numRows = Int(clamping: f[3]?.int ?? 0)
        guard numRows >= 0 else { throw ParquetProblem(reason: "the footer has a negative row count") }
        rowGroups = try (f[4]?.list ?? []).map { group in
            guard let g = group.fields else { throw ParquetProblem(reason: "a row group is not a struct") }
            return try RowGroup(g)
        }
    }
}

enum PageType: Int64, Sendable { case dataPage = 0, indexPage, dictionaryPage, dataPageV2 }

/// One page's header: its kind, sizes, and the fields of whichever data/dictionary header it carries.
struct PageHeader: Sendable {
    var type: PageType?
    var uncompressedSize: Int
    var compressedSize: Int
    var numValues: Int = 0
    var encoding: Encoding?
    var rawEncoding: Int64 = 0
    /// v1: the level encodings (RLE expected); v2: the level sections' byte lengths and whether values are compressed.
    var definitionLevelEncoding: Int64 = 3
    var repetitionLevelEncoding: Int64 = 3
    var definitionLevelsLength = 0
    var repetitionLevelsLength = 0
    var isCompressed = true

    init(_ f: [Int16: ThriftValue]) throws {
        type = f[1]?.int.flatMap(PageType.init(rawValue:))
        uncompressedSize = Int(clamping: f[2]?.int ?? -1)
        compressedSize = Int(clamping: f[3]?.int ?? -1)
        guard uncompressedSize >= 0, compressedSize >= 0 else { throw ParquetProblem(reason: "a page header has a negative or missing size") }
        switch type {
        case .dataPage:
            guard let h = f[5]?.fields else { throw ParquetProblem(reason: "a data page has no data page header") }
            numValues = Int(clamping: h[1]?.int ?? 0)
            rawEncoding = h[2]?.int ?? 0
            definitionLevelEncoding = h[3]?.int ?? 3
            repetitionLevelEncoding = h[4]?.int ?? 3
        case .dictionaryPage:
            guard let h = f[7]?.fields else { throw ParquetProblem(reason: "a dictionary page has no dictionary page header") }
            numValues = Int(clamping: h[1]?.int ?? 0)
            rawEncoding = h[2]?.int ?? 0
        case .dataPageV2:
            guard let h = f[8]?.fields else { throw ParquetProblem(reason: "a v2 data page has no data page header") }
            numValues = Int(clamping: h[1]?.int ?? 0)
            rawEncoding = h[4]?.int ?? 0
            definitionLevelsLength = Int(clamping: h[5]?.int ?? 0)
            repetitionLevelsLength = Int(clamping: h[6]?.int ?? 0)
            isCompressed = h[7]?.bool ?? true
            guard definitionLevelsLength >= 0, repetitionLevelsLength >= 0, definitionLevelsLength <= compressedSize,
                  repetitionLevelsLength <= compressedSize - definitionLevelsLength else {
                throw ParquetProblem(reason: "a v2 data page's level sections (\(repetitionLevelsLength) + \(definitionLevelsLength) bytes) do not fit its \(compressedSize) bytes")
            }
        case .indexPage, nil: break
        }
        guard numValues >= 0 else { throw ParquetProblem(reason: "a page header has a negative value count") }
        encoding = Encoding(rawValue: rawEncoding)
    }
}
