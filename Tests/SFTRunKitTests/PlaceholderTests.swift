import XCTest
@testable import SFTRunKit

final class SFTRunKitPlaceholderTests: XCTestCase {
    func testModuleBuilds() {}
}
