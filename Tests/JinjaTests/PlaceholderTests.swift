import XCTest
@testable import Jinja

final class JinjaPlaceholderTests: XCTestCase {
    func testModuleBuilds() {}
}
