import XCTest
@testable import HubClient

final class HubClientPlaceholderTests: XCTestCase {
    func testModuleBuilds() {}
}
