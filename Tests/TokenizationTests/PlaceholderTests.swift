import XCTest
@testable import Tokenization

final class TokenizationPlaceholderTests: XCTestCase {
    func testModuleBuilds() {}
}
