import XCTest
@testable import Values

final class JSONTests: XCTestCase {
    func testParsesNestedValuesKeepingKeyOrder() throws {
        let v = try JSON.parse(#"{"b": 1, "a": [true, null, 2.5, "x\u00e9\n"], "c": {"d": -3}}"#)
        XCTAssertEqual(v.objectValue.map { Array($0.keys) }, ["b", "a", "c"])
        XCTAssertEqual(v["a"], [true, nil, 2.5, "xé\n"])
        XCTAssertEqual(v["c"]?["d"], -3)
    }

    func testSurrogatePairsDecodeToOneScalar() throws {
        XCTAssertEqual(try JSON.parse(#""\ud83d\ude00""#), "😀")
    }

    func testSyntaxErrorsReportLineAndColumn() {
        XCTAssertThrowsError(try JSON.parse("{\n  \"a\": 1,\n  \"b\" 2\n}")) { error in
            let e = error as! JSONError
            XCTAssertEqual(e.line, 3)
            XCTAssertEqual(e.column, 7)
            XCTAssertTrue(e.message.contains("expected ':'"), e.message)
        }
    }

    func testSerializeRoundTripsAndMatchesPythonFloatText() throws {
        let v: Value = ["lr": 3e-05, "n": 2, "s": "a\"b", "l": [1.0, false]]
        let text = JSON.serialize(v)
        XCTAssertEqual(text, #"{"lr": 3e-05, "n": 2, "s": "a\"b", "l": [1.0, false]}"#)
        XCTAssertEqual(try JSON.parse(text), v)
        XCTAssertEqual(JSON.quote("é😀", asciiOnly: true), #""\u00e9\ud83d\ude00""#)
    }

    func testDottedPathsParseAndPrint() {
        let p = ValuePath(dotted: "data.train[0].path")
        XCTAssertEqual(p, [.key("data"), .key("train"), .index(0), .key("path")])
        XCTAssertEqual(p.dotted, "data.train[0].path")
    }

    func testDeepMergeReplacesListsAndMergesObjects() {
        let base: Value = ["a": ["x": 1, "y": 2], "l": [1, 2]]
        let top: Value = ["a": ["y": 3], "l": [9]]
        XCTAssertEqual(base.merged(with: top), ["a": ["x": 1, "y": 3], "l": [9]])
    }
}
