import XCTest
import Values
import TestSupport
@testable import Datasets

/// The Parquet reader against files pyarrow wrote (scripts/make_parquet_fixtures.py), row by row against
/// pyarrow's own `to_pylist()`.
final class ParquetTests: XCTestCase {
    let fixtures = TestSupport.packageRoot.appendingPathComponent("Tests/DatasetsTests/Fixtures/parquet")

    func url(_ name: String) -> URL { fixtures.appendingPathComponent(name) }

    func expectedRows(_ name: String) throws -> [Value] {
        let text = try String(contentsOf: url("\(name).json"), encoding: .utf8)
        return try XCTUnwrap(JSON.parse(text).arrayValue)
    }

    static let readable = ["flat_plain_v1", "flat_snappy_v2", "chat_snappy", "chat_uncompressed_v2", "prompt_completion",
                           "dictionary_v1", "dictionary_v2", "nested", "many_pages", "delta", "chat_item_lists", "chat_required", "empty", "temporal", "int96", "byte_stream_split"]
                           + ParquetCodecTests.compressed
    /// Fixtures that hold the same rows in different layouts share one expected-rows file.
    static func rowsFile(_ name: String) -> String { ParquetCodecTests.compressed.contains(name) ? "compressed" : name }

    func testEveryRowOfEveryFixtureMatchesPyarrow() throws {
        for name in Self.readable {
            let file = try ParquetFile(url: url("\(name).parquet"))
            let rows = try file.rows()
            let expected = try expectedRows(Self.rowsFile(name))
            XCTAssertEqual(rows.count, expected.count, name)
            XCTAssertEqual(file.rowCount, expected.count, name)
            for (i, (got, want)) in zip(rows, expected).enumerated() where got != want {
                XCTFail("\(name) row \(i): got \(JSON.serialize(got)), expected \(JSON.serialize(want))")
                break
            }
        }
    }

    func testSchemaNamesColumnsWithReadableTypes() throws {
        let chat = try ParquetFile(url: url("chat_snappy.parquet"))
        XCTAssertEqual(chat.schema.map(\.description), ["messages: list<struct<role: string, content: string>>", "source: string"])
        let nested = try ParquetFile(url: url("nested.parquet"))
        XCTAssertEqual(nested.schema.map(\.description), [
            "ints: list<int64>", "grid: list<list<string>>", "point: struct<x: int32, tags: list<string>>", "attrs: map<string, int64>",
        ])
        let flat = try ParquetFile(url: url("flat_plain_v1.parquet"))
        XCTAssertEqual(flat.schema.first { $0.name == "u64" }?.type, "uint64")
        XCTAssertEqual(flat.schema.first { $0.name == "fixed" }?.type, "fixed_len_byte_array(4)")
        XCTAssertEqual(try ParquetFile(url: url("temporal.parquet")).schema.map(\.type), ["date", "timestamp", "decimal"])
    }

    func testRowGroupsReadOneAtATime() throws {
        let file = try ParquetFile(url: url("prompt_completion.parquet"))
        XCTAssertEqual(file.rowGroupCount, 4)
        XCTAssertEqual(try file.rows(inRowGroup: 3), Array(try expectedRows("prompt_completion")[9...]))
        XCTAssertThrowsError(try file.rows(inRowGroup: 4)) { error in
            XCTAssertTrue("\(error)".contains("there is no row group 4 (the file has 4)"), "\(error)")
        }
    }

    func testLocalSourceReadsParquetByExtensionAndByType() throws {
        let path = url("chat_snappy.parquet").path
        let loaded = try LocalSource().load(path)
        XCTAssertEqual(loaded.rows.count, 5)
        XCTAssertEqual(loaded.rows[1]["messages"]?[2]?["content"], "Hello!")
        XCTAssertEqual(loaded.rows[3]["messages"], .null)
        XCTAssertEqual(loaded.rows[4].location, RowLocation(file: path, line: 0, row: 4))
        XCTAssertEqual(loaded.rows[4].location.description, "\(path): row 4")

        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let renamed = dir.appendingPathComponent("train.data")
        try FileManager.default.copyItem(at: url("prompt_completion.parquet"), to: renamed)
        let rows = try LocalSource(type: .parquet).load(renamed.path).rows
        XCTAssertEqual(rows.map { $0["completion"] }, try expectedRows("prompt_completion").map { $0["completion"] })
        XCTAssertEqual(Array(rows[0].columns.keys), ["prompt", "completion"])
    }

    func testOtherCodecsAreRefusedWithHowToResave() throws {
        let path = url("brotli.parquet").path
        XCTAssertThrowsError(try LocalSource().load(path)) { error in
            XCTAssertEqual("\(error)", "\(path): parquet column text uses BROTLI compression, which this build cannot read; "
                                     + "re-save with snappy, gzip or zstd (pyarrow: pq.write_table(t, f, compression='snappy'))")
        }
    }

    func testTruncatedAndNonParquetFilesNameTheProblem() throws {
        let truncated = url("truncated.parquet").path
        XCTAssertThrowsError(try ParquetFile(url: URL(fileURLWithPath: truncated))) { error in
            XCTAssertEqual("\(error)", "\(truncated): the file does not end with PAR1, so it is truncated or not Parquet; re-download or re-save the file")
        }
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = dir.appendingPathComponent("a.parquet")
        try Data("{\"text\": \"not parquet\"}\n".utf8).write(to: text)
        XCTAssertThrowsError(try LocalSource().load(text.path)) { error in
            XCTAssertTrue("\(error)".contains("not a Parquet file (it does not start with PAR1)"), "\(error)")
        }
        let hugeFooter = dir.appendingPathComponent("b.parquet")
        try Data(Array("PAR1".utf8) + [0, 0, 0, 0] + [0xFF, 0xFF, 0xFF, 0x7F] + Array("PAR1".utf8)).write(to: hugeFooter)
        XCTAssertThrowsError(try ParquetFile(url: hugeFooter)) { error in
            XCTAssertTrue("\(error)".contains("the footer claims 2147483647 bytes but the file holds only 16"), "\(error)")
        }
    }

    /// Damaged copies of every fixture (bytes overwritten, footer cut short) must throw a DataError or read, never trap.
    func testDamagedFilesThrowInsteadOfCrashing() throws {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: seed >> 33)
        }
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var failures = 0, tries = 0
        for name in Self.readable {
            let original = [UInt8](try Data(contentsOf: url("\(name).parquet")))
            for attempt in 0..<40 {
                var bytes = original
                if attempt % 4 == 3 {
                    // Keep the magic and footer length but drop part of the footer body.
                    let cut = 1 + next() % 64
                    bytes.removeSubrange((bytes.count - 8 - cut)..<(bytes.count - 8))
                } else {
                    for _ in 0..<(1 + attempt % 3) {
                        let i = 4 + next() % (bytes.count - 12)
                        bytes[i] = UInt8(truncatingIfNeeded: next())
                    }
                }
                let path = dir.appendingPathComponent("damaged.parquet")
                try Data(bytes).write(to: path)
                tries += 1
                do { _ = try ParquetFile(url: path).rows() } catch let e as DataError {
                    XCTAssertEqual(e.location, path.path)
                    failures += 1
                }
            }
        }
        XCTAssertGreaterThan(failures, tries / 4, "most damage should be detected")
    }

    /// Legacy 2-level lists (a repeated leaf named `array`, a repeated `<name>_tuple` group) and an unannotated
    /// repeated field, as older writers (parquet-avro, Spark) store them; pyarrow cannot write these.
    func testLegacyTwoLevelListsAndBareRepeatedFields() throws {
        func element(_ name: String, type: Int64? = nil, repetition: Int64, children: Int64 = 0, converted: Int64? = nil) throws -> SchemaElement {
            var f: [Int16: ThriftValue] = [4: .binary(ArraySlice(name.utf8)), 3: .int(repetition)]
            if let type { f[1] = .int(type) }
            if children > 0 { f[5] = .int(children) }
            if let converted { f[6] = .int(converted) }
            return try SchemaElement(f)
        }
        let (root, leaves) = try SchemaNode.tree([
            try element("schema", repetition: 0, children: 3),
            try element("tags", repetition: 1, children: 1, converted: 3),
            try element("array", type: 6, repetition: 2, converted: 0),
            try element("nums", type: 1, repetition: 2),
            try element("pairs", repetition: 1, children: 1, converted: 3),
            try element("pairs_tuple", repetition: 2, children: 1),
            try element("a", type: 1, repetition: 0),
        ])
        XCTAssertEqual(root.children.map(\.typeDescription), ["list<string>", "list<int32>", "list<struct<a: int32>>"])
        XCTAssertEqual(leaves.map(\.maxDefinition), [2, 1, 2])
        let data = [
            LeafData(count: 4, repetition: [0, 1, 0, 0], definition: [2, 2, 0, 1], values: ["x", "y"]),
            LeafData(count: 5, repetition: [0, 1, 1, 0, 0], definition: [1, 1, 1, 0, 1], values: [1, 2, 3, 4]),
            LeafData(count: 3, repetition: [0, 0, 0], definition: [2, 1, 0], values: [7]),
        ]
        var assembler = RecordAssembler(leaves: leaves, data: data)
        let rows = try (0..<3).map { try assembler.row(root, index: $0) }
        try assembler.checkFinished()
        XCTAssertEqual(rows, [
            ["tags": ["x", "y"], "nums": [1, 2, 3], "pairs": [["a": 7]]],
            ["tags": nil, "nums": [], "pairs": []],
            ["tags": [], "nums": [4], "pairs": nil],
        ])
        var short = RecordAssembler(leaves: leaves, data: data)
        XCTAssertThrowsError(try (0..<4).forEach { _ = try short.row(root, index: $0) }) { error in
            XCTAssertTrue("\((error as? ParquetProblem)?.reason ?? "")".contains("column tags.array ends before row 3"), "\(error)")
        }
    }

    func testSnappyLiteralsAndOverlappingCopies() throws {
        // "abc", then a copy 3 back of 9 bytes (overlapping its own output), then literal "!".
        let block: [UInt8] = [13, 0x08, 0x61, 0x62, 0x63, 0x15, 0x03, 0x00, 0x21]
        XCTAssertEqual(try Snappy.decompress(block[...], expectedSize: 13), Array("abcabcabcabc!".utf8))
        XCTAssertThrowsError(try Snappy.decompress([12, 0x08, 0x61, 0x62, 0x63, 0x15, 0x04][...], expectedSize: 12))
        XCTAssertThrowsError(try Snappy.decompress([12, 0x08, 0x61][...], expectedSize: 12))
    }

    func testRunLengthBitPackedHybrid() throws {
        // RLE run of 5 × 3 (width 2), then one bit-packed group of 8 values 0...3,0...3.
        let bytes: [UInt8] = [0x0A, 0x03, 0x03, 0b1110_0100, 0b1110_0100]
        var c = ByteCursor(bytes, what: "levels")
        XCTAssertEqual(try ColumnDecoding.hybrid(&c, bitWidth: 2, count: 13), [3, 3, 3, 3, 3, 0, 1, 2, 3, 0, 1, 2, 3])
        var short = ByteCursor(Array(bytes.prefix(3)), what: "levels")
        XCTAssertThrowsError(try ColumnDecoding.hybrid(&short, bitWidth: 2, count: 13))
    }
}
