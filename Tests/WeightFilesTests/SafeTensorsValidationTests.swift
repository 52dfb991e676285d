import Foundation
import XCTest
@testable import WeightFiles

/// Hostile or damaged files must be refused with a message naming the rule, never a crash.
final class SafeTensorsValidationTests: XCTestCase {
    func file(header: String, data: [UInt8], lengthOverride: UInt64? = nil, headerBytes: [UInt8]? = nil) throws -> URL {
        let h = headerBytes ?? Array(header.utf8)
        var n = lengthOverride ?? UInt64(h.count)
        var b: [UInt8] = []
        for _ in 0..<8 { b.append(UInt8(n & 0xFF)); n >>= 8 }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).safetensors")
        try Data(b + h + data).write(to: url)
        return url
    }

    func assertRefused(_ url: URL, _ fragment: String, line: UInt = #line) {
        XCTAssertThrowsError(try SafeTensorsFile(url: url), line: line) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains(fragment), m, line: line)
            XCTAssertTrue(m.contains(url.path), m, line: line)
        }
    }

    func t(_ name: String, _ dtype: String, _ shape: [Int], _ lo: Int, _ hi: Int) -> String {
        "\"\(name)\":{\"dtype\":\"\(dtype)\",\"shape\":\(shape),\"data_offsets\":[\(lo),\(hi)]}"
    }

    func testTruncatedFileIsRefused() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("trunc-\(UUID().uuidString)")
        try Data([1, 2, 3]).write(to: url)
        assertRefused(url, "shorter than the 8-byte header length")
    }

    func testHeaderLengthPastEndOfFileIsRefused() throws {
        assertRefused(try file(header: "{}", data: [], lengthOverride: 500), "past the end of the file")
    }

    func testAbsurdHeaderLengthIsRefused() throws {
        assertRefused(try file(header: "{}", data: [], lengthOverride: UInt64.max), "exceeds the 100 MB limit")
    }

    func testNonUTF8HeaderIsRefused() throws {
        assertRefused(try file(header: "", data: [], headerBytes: [0x7B, 0xFF, 0xFE, 0x7D]), "not valid UTF-8")
    }

    func testOverlappingOffsetsAreRefused() throws {
        assertRefused(try file(header: "{\(t("a", "U8", [4], 0, 4)),\(t("b", "U8", [4], 2, 6))}", data: [UInt8](repeating: 0, count: 6)), "overlap")
    }

    func testHoleInDataAreaIsRefused() throws {
        assertRefused(try file(header: "{\(t("a", "U8", [2], 0, 2)),\(t("b", "U8", [2], 4, 6))}", data: [UInt8](repeating: 0, count: 6)), "hole in the data area")
    }

    func testWrongByteLengthIsRefused() throws {
        assertRefused(try file(header: "{\(t("a", "F32", [2], 0, 4))}", data: [UInt8](repeating: 0, count: 4)), "needs 8")
    }

    func testUnknownDtypeIsRefused() throws {
        assertRefused(try file(header: "{\(t("a", "F128", [1], 0, 16))}", data: [UInt8](repeating: 0, count: 16)), "unknown dtype \"F128\"")
    }

    func testDuplicateNamesAreRefused() throws {
        assertRefused(try file(header: "{\(t("a", "U8", [2], 0, 2)),\(t("a", "U8", [2], 2, 4))}", data: [UInt8](repeating: 0, count: 4)), "appears twice")
    }

    func testOffsetsOutOfBoundsAreRefused() throws {
        assertRefused(try file(header: "{\(t("a", "U8", [8], 0, 8))}", data: [UInt8](repeating: 0, count: 4)), "out of bounds")
    }

    func testNegativeShapeIsRefused() throws {
        assertRefused(try file(header: "{\(t("a", "U8", [-2], 0, 0))}", data: []), "negative")
    }

    func testTrailingBytesAreRefused() throws {
        assertRefused(try file(header: "{\(t("a", "U8", [2], 0, 2))}", data: [0, 0, 0]), "trailing bytes")
    }
}
