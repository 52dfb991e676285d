import XCTest
import Values
import TestSupport
@testable import Datasets

final class LocalSourceTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws { dir = try TestSupport.makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func write(_ name: String, _ text: String) -> String {
        let path = dir.appendingPathComponent(name).path
        try! FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testJSONLinesRowsKeepColumnsAndLines() throws {
        let p = write("a.jsonl", "{\"text\": \"hi\", \"n\": 1}\n\n{\"text\": \"yo\"}\r\n")
        let rows = try LocalSource().load(p).rows
        XCTAssertEqual(rows.map { $0["text"] }, ["hi", "yo"])
        XCTAssertEqual(rows.map(\.location.line), [1, 3])
    }

    func testMalformedJSONLineIsAnErrorOrACountedSkip() throws {
        let p = write("a.jsonl", "{\"text\": \"hi\"}\n{\"text\": \"oops\n[1]\n")
        XCTAssertThrowsError(try LocalSource().load(p)) { error in
            XCTAssertEqual("\(error)", "\(p):2: malformed JSON at column 15: unterminated string; fix the line or set data.on_bad_row: skip")
        }
        let loaded = try LocalSource(skipBadRows: true).load(p)
        XCTAssertEqual(loaded.rows.count, 1)
        XCTAssertEqual(loaded.skipped.map(\.location), ["\(p):2", "\(p):3"])
        XCTAssertTrue(loaded.skipped[1].reason.contains("not a JSON object"))
    }

    func testJSONArrayAndObjectWithAListUnderAField() throws {
        XCTAssertEqual(try LocalSource().load(write("a.json", "[{\"a\": 1}, {\"a\": 2}]")).rows.count, 2)
        XCTAssertEqual(try LocalSource(field: "data").load(write("b.json", "{\"version\": 1, \"data\": [{\"a\": 1}]}")).rows.count, 1)
        XCTAssertThrowsError(try LocalSource().load(write("c.json", "{\"x\": [], \"y\": []}"))) { error in
            XCTAssertTrue("\(error)".contains("set data.train.field to the key that holds the rows (one of: x, y)"), "\(error)")
        }
        XCTAssertEqual(try LocalSource().load(write("d.json", "{\"a\": 1}\n{\"a\": 2}\n")).rows.count, 2, "JSON Lines in a .json file")
    }

    func testCSVQuotingEmbeddedNewlinesAndRaggedRows() throws {
        let p = write("a.csv", "question,answer\n\"Hi, there\",\"line1\nline2 \"\"quoted\"\"\"\nq2,a2\r\nq3\n")
        XCTAssertThrowsError(try LocalSource().load(p)) { error in
            XCTAssertEqual("\(error)", "\(p):5: the row has 1 fields but the header has 2; quote fields that contain the separator, or set data.on_bad_row: skip")
        }
        let rows = try LocalSource(skipBadRows: true).load(p).rows
        XCTAssertEqual(rows.count, 2)
        XCTAssertEqual(rows[0]["question"], "Hi, there")
        XCTAssertEqual(rows[0]["answer"], "line1\nline2 \"quoted\"")
        XCTAssertEqual(rows[1]["answer"], "a2")
        XCTAssertEqual(rows[1].location.line, 4)
    }

    func testTSVAndUnclosedQuote() throws {
        XCTAssertEqual(try LocalSource().load(write("a.tsv", "a\tb\n1\t2\n")).rows.first?["b"], "2")
        XCTAssertThrowsError(try LocalSource().load(write("b.csv", "a,b\n\"x,1\n"))) { error in
            XCTAssertTrue("\(error)".contains(":2: a quoted field is never closed"), "\(error)")
        }
    }

    func testTextFilesByLineOrByDocument() throws {
        let p = write("a.txt", "one\n\ntwo\n")
        XCTAssertEqual(try LocalSource().load(p).rows.map { $0["text"] }, ["one", "", "two"])
        XCTAssertEqual(try LocalSource(textSampling: .document).load(p).rows.map { $0["text"] }, ["one\n\ntwo\n"])
    }

    func testFoldersAndGlobsExpandSorted() throws {
        _ = write("d/b.jsonl", "{\"t\": 2}\n")
        _ = write("d/a.jsonl", "{\"t\": 1}\n")
        _ = write("d/notes.bin", "x")
        XCTAssertEqual(try LocalSource().load(dir.path + "/d").rows.map { $0["t"] }, [1, 2])
        XCTAssertEqual(try LocalSource().load(dir.path + "/d/*.jsonl").rows.count, 2)
        XCTAssertThrowsError(try LocalSource().load(dir.path + "/d/*.csv")) { XCTAssertTrue("\($0)".contains("the pattern matches no files")) }
        XCTAssertThrowsError(try LocalSource().load(dir.path + "/missing.jsonl")) { XCTAssertTrue("\($0)".contains("no such file or folder")) }
    }
}
