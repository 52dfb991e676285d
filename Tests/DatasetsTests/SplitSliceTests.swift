import XCTest
@testable import Datasets

final class SplitSliceTests: XCTestCase {
    func testSlicesAsDatasetsReadsThem() throws {
        XCTAssertEqual(try SplitSlice("train").range(count: 10), 0..<10)
        XCTAssertTrue(try SplitSlice("train").isWhole)
        XCTAssertEqual(try SplitSlice("train[:3]").name, "train")
        XCTAssertEqual(try SplitSlice("train[:3]").range(count: 10), 0..<3)
        XCTAssertEqual(try SplitSlice("test[2:5]").range(count: 10), 2..<5)
        XCTAssertEqual(try SplitSlice("train[-2:]").range(count: 10), 8..<10)
        XCTAssertEqual(try SplitSlice("train[:25%]").range(count: 40), 0..<10)
        XCTAssertEqual(try SplitSlice("train[90%:]").range(count: 40), 36..<40)
        XCTAssertEqual(try SplitSlice("train[:100]").range(count: 10), 0..<10, "bounds past the end are clamped")
        XCTAssertThrowsError(try SplitSlice("train[a:b]")) { XCTAssertTrue("\($0)".contains("train[:1000]")) }
        XCTAssertThrowsError(try SplitSlice("train[:3"))
    }
}
