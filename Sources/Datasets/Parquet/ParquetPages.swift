import Values

/// Reads one column chunk's pages (dictionary, data v1, data v2) into levels and values.
struct ColumnChunkReader {
    let bytes: [UInt8]
    /// Where column data may lie: after the leading magic, before the footer.
    let dataRange: Range<Int>
    let leaf: SchemaNode
    let kind: LeafKind
    let meta: ColumnMetaData

    var column: String { leaf.dotted }
    /// Far above what writers put in one page; keeps a damaged header from asking for gigabytes.
    static let maxPageValues = 1 << 26

    func read() throws -> LeafData {
        // Writers leave the offsets of an empty chunk unset, so there is nothing to check or read.
        if meta.numValues == 0 { return LeafData() }
        try checkCodec()
        var start = meta.dataPageOffset
        if let d = meta.dictionaryPageOffset, d > 0, d < start { start = d }
        let (end, overflow) = start.addingReportingOverflow(meta.totalCompressedSize)
        guard meta.totalCompressedSize >= 0, !overflow, start >= dataRange.lowerBound, end <= dataRange.upperBound else {
            throw ParquetProblem(reason: "column \(column)'s chunk (bytes \(start)..<\(end)) lies outside the file's data (\(dataRange))")
        }
        var cursor = ByteCursor(bytes, from: start, to: end, what: "column \(column)'s pages")
        var out = LeafData()
        var dictionary: [Value]?
        var page = -1
        while out.count < meta.numValues && cursor.remaining > 0 {
            page += 1
            var thrift = ThriftCompactReader(cursor)
            let header = try PageHeader(try thrift.readStruct())
            cursor = thrift.cursor
            let body = try cursor.take(header.compressedSize)
            guard header.numValues <= min(meta.numValues - out.count, Self.maxPageValues) || header.type == .dictionaryPage else {
                throw ParquetProblem(reason: "column \(column) has a page of \(header.numValues) values, more than its chunk's \(meta.numValues - out.count) remaining")
            }
            guard header.type != .dictionaryPage || header.numValues <= header.uncompressedSize else {
                throw ParquetProblem(reason: "column \(column)'s dictionary page claims \(header.numValues) entries in \(header.uncompressedSize) bytes")
            }
            switch header.type {
            case .dictionaryPage:
                let values = try decompress(bytes[body], size: header.uncompressedSize, page: page)
                guard header.encoding == .plain || header.encoding == .plainDictionary else {
                    throw ParquetProblem(reason: "column \(column)'s dictionary page uses encoding \(header.rawEncoding), not PLAIN")
                }
                var c = ByteCursor(values, what: "column \(column)'s dictionary page")
                dictionary = try ColumnDecoding.plain(&c, kind: kind, count: header.numValues)
            case .dataPage:
                let values = try decompress(bytes[body], size: header.uncompressedSize, page: page)
                var c = ByteCursor(values, what: "column \(column)'s data page")
                for (max, encoding) in [(leaf.maxRepetition, header.repetitionLevelEncoding), (leaf.maxDefinition, header.definitionLevelEncoding)] where max > 0 {
                    guard encoding == Encoding.rle.rawValue else {
                        throw ParquetProblem(reason: "column \(column) stores levels with the deprecated BIT_PACKED encoding",
                                             fix: "re-save the file with a current writer (pyarrow: pq.write_table(t, f, compression='snappy'))")
                    }
                }
                let rep = try levels(&c, max: leaf.maxRepetition, count: header.numValues, prefixed: true)
                let def = try levels(&c, max: leaf.maxDefinition, count: header.numValues, prefixed: true)
                try append(header, rep, def, &c, dictionary, into: &out)
            case .dataPageV2:
                var c = ByteCursor(bytes, from: body.lowerBound, to: body.upperBound, what: "column \(column)'s v2 data page levels")
                var repCursor = ByteCursor(bytes, from: c.position, to: c.position + header.repetitionLevelsLength, what: c.what)
                let rep = try levels(&repCursor, max: leaf.maxRepetition, count: header.numValues, prefixed: false)
                _ = try c.take(header.repetitionLevelsLength)
                var defCursor = ByteCursor(bytes, from: c.position, to: c.position + header.definitionLevelsLength, what: c.what)
                let def = try levels(&defCursor, max: leaf.maxDefinition, count: header.numValues, prefixed: false)
                _ = try c.take(header.definitionLevelsLength)
                let valueBytes = bytes[c.position..<body.upperBound]
                let valuesSize = header.uncompressedSize - header.repetitionLevelsLength - header.definitionLevelsLength
                let values = header.isCompressed ? try decompress(valueBytes, size: valuesSize, page: page) : Array(valueBytes)
                var v = ByteCursor(values, what: "column \(column)'s v2 data page")
                try append(header, rep, def, &v, dictionary, into: &out)
            case .indexPage, nil:
                continue
            }
        }
        guard out.count == meta.numValues else {
            throw ParquetProblem(reason: "column \(column) holds \(out.count) values in its pages but its metadata says \(meta.numValues)")
        }
        return out
    }

    func checkCodec() throws {
        switch meta.codec {
        case .uncompressed, .snappy, .gzip, .zstd: return
        default:
            throw ParquetProblem(reason: "parquet column \(column) uses \(meta.codec.name) compression, which this build cannot read",
                                 fix: "re-save with snappy, gzip or zstd (pyarrow: pq.write_table(t, f, compression='snappy'))")
        }
    }

    /// A page's compressed bytes (for a v2 data page, its values part) → exactly `size` bytes; `page` counts the
    /// chunk's pages from 0 so that an error points at the damaged one.
    func decompress(_ body: ArraySlice<UInt8>, size: Int, page: Int) throws -> [UInt8] {
        guard size >= 0, size <= 1 << 31 else { throw ParquetProblem(reason: "column \(column) page \(page) claims \(size) uncompressed bytes") }
        do {
            switch meta.codec {
            case .snappy: return try Snappy.decompress(body, expectedSize: size)
            case .gzip: return try Gzip.decompress(body, expectedSize: size)
            case .zstd: return try Zstd.decompress(body, expectedSize: size)
            default: break
            }
        } catch var p as ParquetProblem {
            p.reason = "column \(column) page \(page): " + p.reason
            throw p
        }
        guard body.count == size else {
            throw ParquetProblem(reason: "column \(column) page \(page) is uncompressed, \(body.count) bytes, but its header says \(size)")
        }
        return Array(body)
    }

    func levels(_ c: inout ByteCursor, max: Int, count: Int, prefixed: Bool) throws -> [Int] {
        guard max > 0 else { return [] }
        var section = c
        if prefixed {
            let length = Int(try c.uint32LE())
            let range = try c.take(length)
            section = ByteCursor(c.bytes, from: range.lowerBound, to: range.upperBound, what: c.what)
        }
        let levels = try ColumnDecoding.hybrid(&section, bitWidth: ColumnDecoding.bitWidth(max), count: count)
        for level in levels where level > max {
            throw ParquetProblem(reason: "column \(column) has level \(level) above its maximum \(max)")
        }
        if !prefixed { c = section }
        return levels
    }

    /// Decodes a data page's values (one per entry whose definition level reaches the leaf) and appends it.
    func append(_ header: PageHeader, _ rep: [Int], _ def: [Int], _ c: inout ByteCursor, _ dictionary: [Value]?, into out: inout LeafData) throws {
        let present = leaf.maxDefinition == 0 ? header.numValues : def.reduce(0) { $0 + ($1 == leaf.maxDefinition ? 1 : 0) }
        let values: [Value]
        switch header.encoding {
        case .plain:
            values = try ColumnDecoding.plain(&c, kind: kind, count: present)
        case .plainDictionary, .rleDictionary:
            guard let dictionary else { throw ParquetProblem(reason: "column \(column) uses a dictionary but has no dictionary page") }
            if present == 0 { values = []; break }
            let width = Int(try c.byte())
            values = try ColumnDecoding.hybrid(&c, bitWidth: width, count: present).map { i in
                guard i < dictionary.count else { throw ParquetProblem(reason: "column \(column) refers to dictionary entry \(i) of \(dictionary.count)") }
                return dictionary[i]
            }
        case .rle where kind.physical == .boolean:
            let length = Int(try c.uint32LE())
            let r = try c.take(length)
            var section = ByteCursor(c.bytes, from: r.lowerBound, to: r.upperBound, what: c.what)
            values = try ColumnDecoding.hybrid(&section, bitWidth: 1, count: present).map { .bool($0 == 1) }
        case .deltaBinaryPacked where kind.physical == .int32 || kind.physical == .int64:
            values = try ColumnDecoding.deltaBinaryPacked(&c, expected: present).map {
                kind.physical == .int32 ? ColumnDecoding.int32(Int32(truncatingIfNeeded: $0), kind) : ColumnDecoding.int64($0, kind)
            }
        case .deltaLengthByteArray where kind.physical == .byteArray:
            values = try ColumnDecoding.deltaLengthByteArray(&c, expected: present).map { ColumnDecoding.bytes($0, kind) }
        case .deltaByteArray where kind.physical == .byteArray || kind.physical == .fixedLenByteArray:
            values = try ColumnDecoding.deltaByteArray(&c, expected: present).map { ColumnDecoding.bytes($0[...], kind) }
        case .byteStreamSplit:
            values = try ColumnDecoding.byteStreamSplit(&c, kind: kind, count: present)
        default:
            throw ParquetProblem(reason: "column \(column) uses value encoding \(header.encoding.map { "\($0)" } ?? String(header.rawEncoding)), which this reader does not support",
                                 fix: "re-save with pyarrow's defaults (pq.write_table(t, f, compression='snappy'))")
        }
        guard values.count == present else {
            throw ParquetProblem(reason: "column \(column) has a page with \(values.count) values where its levels promise \(present)")
        }
        out.count += header.numValues
        out.repetition += rep
        out.definition += def
        out.values += values
    }
}
