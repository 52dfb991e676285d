import XCTest
@testable import Values

final class YAMLTests: XCTestCase {
    func testCoreSchemaScalarsResolveAsYAML12() throws {
        let doc = try YAML.parse("""
            a: 1e-5
            b: 5E-4
            c: .5
            d: 3
            e: yes
            f: "true"
            g: ~
            h: true
            i: 0x1F
            j: 1.0.0
            """)
        XCTAssertEqual(doc.value["a"], .double(1e-5))
        XCTAssertEqual(doc.value["b"], .double(5e-4))
        XCTAssertEqual(doc.value["c"], .double(0.5))
        XCTAssertEqual(doc.value["d"], .int(3))
        XCTAssertEqual(doc.value["e"], .string("yes"))
        XCTAssertEqual(doc.value["f"], .string("true"))
        XCTAssertEqual(doc.value["g"], .null)
        XCTAssertEqual(doc.value["h"], .bool(true))
        XCTAssertEqual(doc.value["i"], .int(31))
        XCTAssertEqual(doc.value["j"], .string("1.0.0"))
        XCTAssertEqual(doc.booleanLikeStrings, [[.key("e")]])
    }

    func testMarksGiveLineAndColumnOfKeysAndValues() throws {
        let doc = try YAML.parse("training:\n  learning_rate: -1\n  seed: 3\n", file: "r.yaml")
        XCTAssertEqual(doc.marks[[.key("training"), .key("learning_rate")]]?.location, "r.yaml:2:18")
        XCTAssertEqual(doc.keyMarks[[.key("training"), .key("seed")]]?.location, "r.yaml:3:3")
        XCTAssertEqual(doc.mark(for: [.key("training"), .key("missing")])?.location, "r.yaml:2:3")
    }

    func testDuplicateKeysAreErrorsNamingBothLines() {
        XCTAssertThrowsError(try YAML.parse("a: 1\nb: 2\na: 3\n", file: "d.yaml")) { error in
            XCTAssertEqual("\(error)", "d.yaml:3:1: duplicate key \"a\" (first defined at line 1); keep one of them")
        }
    }

    func testAliasesExpandAndMergeKeysKeepExplicitValues() throws {
        let doc = try YAML.parse("""
            base: &b {lr: 1, seed: 2}
            run:
              <<: *b
              lr: 5
            copy: *b
            """)
        XCTAssertEqual(doc.value["run"], ["lr": 5, "seed": 2])
        XCTAssertEqual(doc.value["copy"], ["lr": 1, "seed": 2])
    }

    func testAliasBombFailsFastInsteadOfExpanding() {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
        for i in 1..<9 { text += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ", ") + "]\n" }
        let start = ContinuousClock.now
        XCTAssertThrowsError(try YAML.parse(text, file: "bomb.yaml")) { error in
            XCTAssertTrue("\(error)".contains("alias bomb"), "\(error)")
        }
        XCTAssertLessThan(ContinuousClock.now - start, .seconds(5))
    }

    func testSyntaxErrorsNameTheLine() {
        XCTAssertThrowsError(try YAML.parse("a: [1, 2\nb: 3\n", file: "s.yaml")) { error in
            XCTAssertTrue("\(error)".hasPrefix("s.yaml:"), "\(error)")
            XCTAssertTrue("\(error)".contains("invalid YAML"), "\(error)")
        }
    }

    func testWriterOutputReadsBackToTheSameValue() throws {
        let v: Value = ["model": ["name_or_path": "facebook/opt-350m", "dtype": "float32"],
                        "lr": 3e-05, "steps": -1, "flag": "yes", "empty": "", "list": [1, "a: b", ["k": 2]],
                        "text": "line1\nline2", "none": nil, "big": 1e16]
        let text = YAMLWriter.write(v)
        XCTAssertEqual(try YAML.parse(text).value, v, text)
        XCTAssertTrue(text.contains("lr: 3.0e-05"), text)
        XCTAssertTrue(text.contains("flag: \"yes\""), text)
    }
}
