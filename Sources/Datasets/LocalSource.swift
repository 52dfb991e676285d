import Foundation
import OrderedCollections
import Values

/// Where a row came from, for messages: `data/train.jsonl:17` (line) or `data/train.csv:row 4 (line 9)`.
public struct RowLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    /// 1-based line where the row starts (for JSON arrays: the element index + 1 is in `row`, line is 0).
    public var line: Int
    /// 0-based row number within the file.
    public var row: Int
    public var description: String { line > 0 ? "\(file):\(line)" : "\(file): row \(row)" }

    public init(file: String, line: Int, row: Int) {
        self.file = file
        self.line = line
        self.row = row
    }
}

/// One example: named columns, in file order.
public struct Row: Sendable, Equatable {
    public var columns: OrderedDictionary<String, Value>
    public var location: RowLocation
    public subscript(column: String) -> Value? { columns[column] }

    public init(columns: OrderedDictionary<String, Value>, location: RowLocation) {
        self.columns = columns
        self.location = location
    }
}

/// A bad file or row, naming the file and line and saying what to do.
public struct DataError: Error, Sendable, Equatable, CustomStringConvertible {
    public var location: String
    public var reason: String
    public var fix: String
    public var description: String { "\(location): \(reason); \(fix)" }
}

/// Rows from local files, plus the bad rows that `on_bad_row: skip` passed over.
public struct LoadedRows: Sendable {
    public var rows: [Row] = []
    public var skipped: [DataError] = []
    public init() {}
}

/// File formats read locally, with `datasets`' builder names.
public enum LocalFileType: String, Sendable, CaseIterable {
    case json, jsonl, csv, tsv, text, parquet

    /// From the extension, as `datasets` picks a builder (`.txt` → text, `.jsonl`/`.json` → json, ...).
    public static func detect(_ path: String) -> LocalFileType? {
        switch (path as NSString).pathExtension.lowercased() {
        case "json": return .json
        case "jsonl", "ndjson": return .jsonl
        case "csv": return .csv
        case "tsv": return .tsv
        case "txt", "text", "md": return .text
        case "parquet": return .parquet
        default: return nil
        }
    }
}

/// Reads local dataset files: JSON Lines, JSON (an array, or an object holding a list under `field`),
/// CSV/TSV (RFC 4180 quoting, embedded newlines, header row) and plain text (one example per line or per file).
public struct LocalSource: Sendable {
    public enum TextSampling: String, Sendable { case line, document }
    public var type: LocalFileType?
    public var field: String?
    public var textSampling: TextSampling = .line
    public var skipBadRows = false

    public init(type: LocalFileType? = nil, field: String? = nil, textSampling: TextSampling = .line, skipBadRows: Bool = false) {
        self.type = type
        self.field = field
        self.textSampling = textSampling
        self.skipBadRows = skipBadRows
    }

    /// Expands a file, folder or glob into the data files it names, sorted, so the row order is stable.
    public static func expand(_ pattern: String) throws -> [String] {
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: pattern, isDirectory: &isDir) {
            guard isDir.boolValue else { return [pattern] }
            let files = (FileManager.default.enumerator(atPath: pattern)?.compactMap { $0 as? String } ?? [])
                .filter { LocalFileType.detect($0) != nil && !($0 as NSString).lastPathComponent.hasPrefix(".") }
                .sorted().map { pattern + "/" + $0 }
            guard !files.isEmpty else {
                throw DataError(location: pattern, reason: "the folder holds no data files", fix: "add .jsonl/.json/.csv/.tsv/.txt/.parquet files or point data.train.path at a file")
            }
            return files
        }
        if pattern.contains(where: { "*?[".contains($0) }) {
            var g = glob_t()
            defer { globfree(&g) }
            if glob(pattern, 0, nil, &g) == 0 {
                let matches = (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }.sorted()
                if !matches.isEmpty { return matches }
            }
            throw DataError(location: pattern, reason: "the pattern matches no files", fix: "check the glob, relative to the folder sftrun runs in")
        }
        throw DataError(location: pattern, reason: "no such file or folder", fix: "check data.train.path (local paths are relative to the folder sftrun runs in)")
    }

    /// Reads every file the path names, in order.
    public func load(_ path: String) throws -> LoadedRows {
        var out = LoadedRows()
        for file in try Self.expand(path) {
            let part = try loadFile(file)
            out.rows += part.rows
            out.skipped += part.skipped
        }
        return out
    }

    public func loadFile(_ file: String) throws -> LoadedRows {
        guard let type = type ?? LocalFileType.detect(file) else {
            throw DataError(location: file, reason: "unknown file type", fix: "set data.train.type (json, jsonl, csv, tsv, text or parquet)")
        }
        if type == .parquet { return try readParquet(file) }
        guard let data = FileManager.default.contents(atPath: file) else {
            throw DataError(location: file, reason: "cannot read the file", fix: "check it exists and is readable")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw DataError(location: file, reason: "the file is not UTF-8 text", fix: "convert it to UTF-8")
        }
        var result = LoadedRows()
        switch type {
        case .jsonl: try readJSONLines(text, file: file, into: &result)
        case .json:
            let trimmed = text.drop { $0.isWhitespace }
            if trimmed.first == "[" || (trimmed.first == "{" && isSingleJSONDocument(text)) {
                try readJSONDocument(text, file: file, into: &result)
            } else {
                try readJSONLines(text, file: file, into: &result)
            }
        case .csv: try readDelimited(text, separator: UInt8(ascii: ","), file: file, into: &result)
        case .tsv: try readDelimited(text, separator: 0x09, file: file, into: &result)
        case .text: readText(text, file: file, into: &result)
        case .parquet: return try readParquet(file)
        }
        return result
    }

    func readParquet(_ file: String) throws -> LoadedRows {
        var result = LoadedRows()
        for (i, value) in try ParquetFile(url: URL(fileURLWithPath: file)).rows().enumerated() {
            result.rows.append(Row(columns: value.objectValue ?? [:], location: RowLocation(file: file, line: 0, row: i)))
        }
        return result
    }

    func bad(_ error: DataError, into result: inout LoadedRows) throws {
        guard skipBadRows else { throw error }
        result.skipped.append(error)
    }

    func isSingleJSONDocument(_ text: String) -> Bool {
        (try? JSON.parse(text)) != nil
    }

    func readJSONLines(_ text: String, file: String, into result: inout LoadedRows) throws {
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let body = line.hasSuffix("\r") ? line.dropLast() : line
            if body.allSatisfy({ $0.isWhitespace }) { continue }
            let location = RowLocation(file: file, line: lineNumber, row: result.rows.count + result.skipped.count)
            do {
                let value = try JSON.parse(String(body))
                guard case .object(let o) = value else {
                    try bad(DataError(location: location.description, reason: "the line is \(value.typeName), not a JSON object", fix: "write one {\"column\": value} object per line"), into: &result)
                    continue
                }
                result.rows.append(Row(columns: o, location: location))
            } catch let e as JSONError {
                try bad(DataError(location: location.description, reason: "malformed JSON at column \(e.column): \(e.message)", fix: "fix the line or set data.on_bad_row: skip"), into: &result)
            }
        }
    }

    func readJSONDocument(_ text: String, file: String, into result: inout LoadedRows) throws {
        let value: Value
        do { value = try JSON.parse(text) } catch let e as JSONError {
            throw DataError(location: "\(file):\(e.line):\(e.column)", reason: "malformed JSON: \(e.message)", fix: "fix the file")
        }
        var list: [Value]
        switch value {
        case .array(let a): list = a
        case .object(let o):
            if let field, let inner = o[field]?.arrayValue { list = inner }
            else if field == nil, o.count == 1, let inner = o.values.first?.arrayValue { list = inner }
            else {
                let keys = o.keys.filter { o[$0]?.arrayValue != nil }
                throw DataError(location: file, reason: field.map { "the JSON object has no list under \"\($0)\"" } ?? "the JSON object holds several lists",
                                fix: "set data.train.field to the key that holds the rows" + (keys.isEmpty ? "" : " (one of: \(keys.joined(separator: ", ")))"))
            }
        default:
            throw DataError(location: file, reason: "the JSON file holds \(value.typeName), not a list of rows", fix: "write a list of objects, or JSON Lines")
        }
        for (i, item) in list.enumerated() {
            let location = RowLocation(file: file, line: 0, row: i)
            guard case .object(let o) = item else {
                try bad(DataError(location: location.description, reason: "the element is \(item.typeName), not an object", fix: "make each element an object of columns"), into: &result)
                continue
            }
            result.rows.append(Row(columns: o, location: location))
        }
    }

    func readText(_ text: String, file: String, into result: inout LoadedRows) {
        switch textSampling {
        case .document:
            result.rows.append(Row(columns: ["text": .string(text)], location: RowLocation(file: file, line: 1, row: 0)))
        case .line:
            // As `datasets`' text builder: one row per line, line endings removed, empty lines kept.
            var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
            if lines.last == "" { lines.removeLast() }
            for (i, line) in lines.enumerated() {
                result.rows.append(Row(columns: ["text": .string(String(line))], location: RowLocation(file: file, line: i + 1, row: i)))
            }
        }
    }

    func readDelimited(_ text: String, separator: UInt8, file: String, into result: inout LoadedRows) throws {
        let records = try DelimitedParser.parse(Array(text.utf8), separator: separator, file: file)
        guard let header = records.first else {
            throw DataError(location: file, reason: "the file is empty", fix: "add a header row and data rows")
        }
        var seen = Set<String>()
        for name in header.fields where !seen.insert(name).inserted {
            throw DataError(location: "\(file):1", reason: "the header names column \"\(name)\" twice", fix: "give each column a unique name")
        }
        for (i, record) in records.dropFirst().enumerated() {
            let location = RowLocation(file: file, line: record.line, row: i)
            if record.fields.count == 1 && record.fields[0].isEmpty { continue }
            guard record.fields.count == header.fields.count else {
                try bad(DataError(location: location.description, reason: "the row has \(record.fields.count) fields but the header has \(header.fields.count)",
                                  fix: "quote fields that contain the separator, or set data.on_bad_row: skip"), into: &result)
                continue
            }
            var columns = OrderedDictionary<String, Value>()
            for (name, field) in zip(header.fields, record.fields) { columns[name] = .string(field) }
            result.rows.append(Row(columns: columns, location: location))
        }
    }
}

/// RFC 4180 records: quoted fields may hold separators, `""` quotes and newlines.
enum DelimitedParser {
    struct Record { var fields: [String]; var line: Int }

    static func parse(_ bytes: [UInt8], separator: UInt8, file: String) throws -> [Record] {
        var records: [Record] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var line = 1, recordLine = 1
        var i = 0
        var inQuotes = false
        var wasQuoted = false
        func endField() { fields.append(String(decoding: field, as: UTF8.self)); field.removeAll(keepingCapacity: true); wasQuoted = false }
        while i < bytes.count {
            let b = bytes[i]
            if inQuotes {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "\"") { field.append(b); i += 2; continue }
                    inQuotes = false
                } else {
                    if b == 0x0A { line += 1 }
                    field.append(b)
                }
                i += 1
                continue
            }
            switch b {
            case UInt8(ascii: "\"") where field.isEmpty && !wasQuoted:
                inQuotes = true
                wasQuoted = true
            case separator:
                endField()
            case 0x0D where i + 1 < bytes.count && bytes[i + 1] == 0x0A:
                break
            case 0x0A:
                endField()
                records.append(Record(fields: fields, line: recordLine))
                fields.removeAll()
                line += 1
                recordLine = line
            default:
                field.append(b)
            }
            i += 1
        }
        if inQuotes {
            throw DataError(location: "\(file):\(recordLine)", reason: "a quoted field is never closed", fix: "close the quote (write \"\" for a quote inside a field)")
        }
        if !field.isEmpty || !fields.isEmpty || wasQuoted {
            endField()
            records.append(Record(fields: fields, line: recordLine))
        }
        return records
    }
}
