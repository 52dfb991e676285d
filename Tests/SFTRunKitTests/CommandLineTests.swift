import XCTest
import TestSupport

/// Runs the built `sftrun` binary, to check what only the process shows: exit statuses and usage errors.
final class CommandLineTests: XCTestCase {
    func run(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
        // The test bundle sits next to the products of the same build (`swift test` builds the executable too).
        var folder = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent()
        if folder.lastPathComponent.hasSuffix(".xctest") { folder.deleteLastPathComponent() }
        let binary = folder.appendingPathComponent("sftrun")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            struct Missing: Error, CustomStringConvertible { var description: String }
            throw Missing(description: "sftrun binary not found at \(binary.path); build with `swift build` first")
        }
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        p.currentDirectoryURL = TestSupport.packageRoot
        let o = Pipe(), e = Pipe()
        p.standardOutput = o
        p.standardError = e
        try p.run()
        let out = String(decoding: o.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: e.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, out, err)
    }

    func testUsageErrorsExitWithTwo() throws {
        let r = try run(["validate"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("Missing expected argument"), r.err)
        XCTAssertEqual(try run(["validate", "--format", "xml", "recipes/base.yaml"]).status, 2)
    }

    func testValidateAllShippedRecipesExitsZero() throws {
        let recipes = try FileManager.default.contentsOfDirectory(atPath: TestSupport.packageRoot.appendingPathComponent("recipes").path)
            .filter { $0.hasSuffix(".yaml") }.sorted().map { "recipes/" + $0 }
        let r = try run(["validate"] + recipes)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out.split(separator: "\n").count, recipes.count)
    }

    func testBareRecipeArgumentMeansTrain() throws {
        let r = try run(["recipes/opt350m-imdb.yaml"])
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.err.contains("training is not available in this build"), r.err)
    }
}
