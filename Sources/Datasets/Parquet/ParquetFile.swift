import Foundation
import Values

/// A Parquet file (the Hugging Face Hub's dataset format), read into memory: its schema, row count and rows as
/// `Value` objects, nested columns included (a chat `messages` column becomes an array of {role, content} objects).
/// Reads UNCOMPRESSED, SNAPPY, GZIP and ZSTD pages; other codecs are refused with a message saying how to re-save the file.
public struct ParquetFile: Sendable {
    /// A top-level column: its name and a readable type such as `string` or `list<struct<role: string, content: string>>`.
    public struct Column: Sendable, Equatable, CustomStringConvertible {
        public var name: String
        public var type: String
        public var description: String { "\(name): \(type)" }
    }

    public let url: URL
    public let schema: [Column]
    public let rowCount: Int
    public var rowGroupCount: Int { metadata.rowGroups.count }

    let bytes: [UInt8]
    let metadata: FileMetaData
    let root: SchemaNode
    let leaves: [SchemaNode]
    let dataRange: Range<Int>

    public init(url: URL) throws {
        self.url = url
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw DataError(location: url.path, reason: "cannot read the file", fix: "check it exists and is readable")
        }
        bytes = [UInt8](data)
        do {
            let magic = Array("PAR1".utf8)
            guard bytes.count >= 12, Array(bytes[0..<4]) == magic else {
                throw ParquetProblem(reason: "not a Parquet file (it does not start with PAR1)")
            }
            let tail = Array(bytes[(bytes.count - 4)...])
            guard tail != Array("PARE".utf8) else {
                throw ParquetProblem(reason: "the Parquet footer is encrypted", fix: "decrypt it first, or export the table without encryption")
            }
            guard tail == magic else {
                throw ParquetProblem(reason: "the file does not end with PAR1, so it is truncated or not Parquet", fix: "re-download or re-save the file")
            }
            var lengthCursor = ByteCursor(bytes, from: bytes.count - 8, what: "the footer length")
            let footerLength = Int(try lengthCursor.uint32LE())
            guard footerLength <= bytes.count - 12 else {
                throw ParquetProblem(reason: "the footer claims \(footerLength) bytes but the file holds only \(bytes.count)", fix: "re-download or re-save the file")
            }
            let footerStart = bytes.count - 8 - footerLength
            var thrift = ThriftCompactReader(ByteCursor(bytes, from: footerStart, to: bytes.count - 8, what: "the footer"))
            metadata = try FileMetaData(try thrift.readStruct())
            (root, leaves) = try SchemaNode.tree(metadata.schema)
            dataRange = 4..<footerStart
            var total = 0, overflow = false
            for group in metadata.rowGroups where !overflow { (total, overflow) = total.addingReportingOverflow(group.numRows) }
            guard !overflow, total == metadata.numRows else {
                throw ParquetProblem(reason: "the footer says \(metadata.numRows) rows but its row groups hold \(total)")
            }
            rowCount = metadata.numRows
            schema = root.children.map { Column(name: $0.name, type: $0.typeDescription) }
        } catch let p as ParquetProblem {
            throw DataError(location: url.path, reason: p.reason, fix: p.fix)
        }
    }

    /// Every row, in file order, as an object of the top-level columns.
    public func rows() throws -> [Value] {
        var out: [Value] = []
        out.reserveCapacity(min(rowCount, 1 << 20))
        for group in 0..<rowGroupCount { out += try rows(inRowGroup: group) }
        return out
    }

    /// The rows of one row group, so a large file can be read a group at a time.
    public func rows(inRowGroup index: Int) throws -> [Value] {
        guard metadata.rowGroups.indices.contains(index) else {
            throw DataError(location: url.path, reason: "there is no row group \(index) (the file has \(rowGroupCount))", fix: "ask for a row group below \(rowGroupCount)")
        }
        let group = metadata.rowGroups[index]
        do {
            guard group.columns.count == leaves.count else {
                throw ParquetProblem(reason: "row group \(index) has \(group.columns.count) column chunks but the schema has \(leaves.count) columns")
            }
            var data: [LeafData] = []
            for (leaf, meta) in zip(leaves, group.columns) {
                guard let kind = leaf.kind, kind.physical == meta.type else {
                    throw ParquetProblem(reason: "column \(leaf.dotted)'s chunk in row group \(index) does not match the schema's type")
                }
                data.append(try ColumnChunkReader(bytes: bytes, dataRange: dataRange, leaf: leaf, kind: kind, meta: meta).read())
            }
            guard !leaves.isEmpty || group.numRows == 0 else {
                throw ParquetProblem(reason: "row group \(index) has \(group.numRows) rows but the schema has no columns")
            }
            var assembler = RecordAssembler(leaves: leaves, data: data)
            var out: [Value] = []
            out.reserveCapacity(min(group.numRows, data.first?.count ?? 0))
            for row in 0..<group.numRows { out.append(try assembler.row(root, index: row)) }
            try assembler.checkFinished()
            return out
        } catch let p as ParquetProblem {
            throw DataError(location: url.path, reason: p.reason, fix: p.fix)
        }
    }
}
