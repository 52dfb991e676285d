import XCTest
import TestSupport

/// Runs the built `sftrun` binary, to check what only the process shows: exit statuses and usage errors.
final class CommandLineTests: XCTestCase {
    func run(_ args: [String], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
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
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
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

    /// Starts the fake Hub from the HubClient tests (Python standard library only) and returns its port.
    func startFakeHub() throws -> (Process, Int) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", TestSupport.packageRoot.appendingPathComponent("Tests/HubClientTests/Fixtures/fake_hub.py").path]
        let o = Pipe()
        p.standardOutput = o
        try p.run()
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = o.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").first ?? "") else {
            p.terminate()
            throw XCTSkip("fake Hub did not start")
        }
        return (p, port)
    }

    func testDownloadAndCacheCommandsAgainstTheFakeHub() throws {
        let (server, port) = try startFakeHub()
        defer { server.terminate() }
        let cache = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: cache) }
        let env = ["HF_ENDPOINT": "http://127.0.0.1:\(port)", "HF_HUB_CACHE": cache.path, "HF_TOKEN": "hf_secret"]
        let one = try run(["download", "org/tiny-model", "config.json"], environment: env)
        XCTAssertEqual(one.status, 0, one.err)
        let snapshot = one.out.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(snapshot.hasSuffix("models--org--tiny-model/snapshots/" + String(repeating: "a", count: 39) + "1"), snapshot)
        XCTAssertTrue(FileManager.default.fileExists(atPath: snapshot + "/config.json"))
        let data = try run(["download", "org/tiny-data", "--repo-type", "dataset", "--include", "data/*"], environment: env)
        XCTAssertEqual(data.status, 0, data.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: data.out.trimmingCharacters(in: .whitespacesAndNewlines) + "/data/train.jsonl"))
        let missing = try run(["download", "org/tiny-model", "--include", "nope.txt"], environment: env)
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.err.contains("has no file \"nope.txt\""), missing.err)
        XCTAssertFalse(missing.err.contains("hf_secret"))
        let absent = try run(["download", "org/does-not-exist", "config.json"], environment: env)
        XCTAssertEqual(absent.status, 1)
        XCTAssertFalse(absent.err.isEmpty)
        let list = try run(["cache", "ls"], environment: env)
        XCTAssertTrue(list.out.contains("org/tiny-model") && list.out.contains("org/tiny-data"), list.out)
        XCTAssertEqual(try run(["cache", "rm", "org/tiny-model"], environment: env).status, 0)
        XCTAssertFalse(try run(["cache", "ls"], environment: env).out.contains("org/tiny-model"))
        let gone = try run(["cache", "rm", "org/tiny-model"], environment: env)
        XCTAssertEqual(gone.status, 1)
        XCTAssertTrue(gone.err.contains("is not in the cache"), gone.err)
        let offline = try run(["download", "org/tiny-model", "config.json", "--offline"], environment: env)
        XCTAssertEqual(offline.status, 1)
        XCTAssertTrue(offline.err.contains("org/tiny-model"), offline.err)
    }
}
