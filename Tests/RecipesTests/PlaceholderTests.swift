import XCTest
@testable import Recipes
final class RecipesPlaceholderTests: XCTestCase { func testModuleBuilds() {} }
