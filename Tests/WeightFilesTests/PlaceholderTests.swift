import XCTest
@testable import WeightFiles

final class WeightFilesPlaceholderTests: XCTestCase {
    func testModuleBuilds() {}
}
