import Datasets
import Foundation
import Recipes
import TestSupport
import XCTest
@testable import SFTRunKit

/// The processed-dataset cache: a second run hits with identical examples; a changed data byte, tokenizer file or
/// max_length misses; options applied after tokenization share the file; a truncated or damaged file is re-made
/// with a warning; and the train command prints what it did.
final class DataCacheTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try TestSupport.makeTemporaryDirectory()
        let tokenizer = dir.appendingPathComponent("tok")
        try FileManager.default.createDirectory(at: tokenizer, withIntermediateDirectories: true)
        let fixture = TestSupport.packageRoot.appendingPathComponent("Tests/SFTRunKitTests/Fixtures/tiny-llama")
        for f in ["tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(at: fixture.appendingPathComponent(f), to: tokenizer.appendingPathComponent(f))
        }
        let lines = (0..<40).map { "{\"text\": \"row \($0): the quick brown fox jumps over the lazy dog \(String(repeating: "again ", count: $0 % 7))\"}" }
        try (lines.joined(separator: "\n") + "\n").write(to: dir.appendingPathComponent("train.jsonl"), atomically: true, encoding: .utf8)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func recipe(_ overrides: [String] = []) throws -> Recipe {
        let file = dir.appendingPathComponent("r.yaml")
        try """
        model: {name_or_path: \(dir.appendingPathComponent("tok").path)}
        data:
          train: [{path: \(dir.appendingPathComponent("train.jsonl").path)}]
          max_length: 16
        training: {output_dir: \(dir.appendingPathComponent("out").path)}
        """.write(to: file, atomically: true, encoding: .utf8)
        return try RecipeResolver.resolve(path: file.path, overrides: overrides).recipe
    }

    /// Prepares through the cache; returns the examples and the reported lines.
    func run(_ r: Recipe, _ cache: DataCache) throws -> (DataPreparation.Prepared, [String]) {
        let prep = try DataPreparation(recipe: r, recipeDirectory: dir.path)
        var lines: [String] = []
        let p = try prep.loadAndPrepare(r.data.train, cache: cache, tokenizerFolder: dir.appendingPathComponent("tok")) { lines.append($0) }
        return (p, lines)
    }

    func testSecondRunHitsWithIdenticalExamples() throws {
        let cache = DataCache(directory: dir.appendingPathComponent("cache"))
        let r = try recipe()
        let (first, made) = try run(r, cache)
        XCTAssertEqual(made.count, 1)
        XCTAssertTrue(made[0].hasPrefix("data: tokenized 40 examples, cached at \(cache.directory.path)/"), made[0])
        XCTAssertGreaterThan(first.truncated, 0, "max_length 16 cuts some rows")
        let (second, hit) = try run(r, cache)
        XCTAssertEqual(hit, ["data: cache hit " + String(made[0].split(separator: " ").last!)])
        XCTAssertEqual(second.examples, first.examples)
        XCTAssertEqual(second.truncated, first.truncated)
        XCTAssertEqual(second.format, first.format)
        let uncached = try DataPreparation(recipe: r, recipeDirectory: dir.path).prepare(
            try DataPreparation(recipe: r, recipeDirectory: dir.path).loadRows(r.data.train).rows)
        XCTAssertEqual(second.examples, uncached.examples, "the cache holds what tokenizing gives")
        XCTAssertEqual(cache.entries().map(\.examples), [40])
        XCTAssertEqual(cache.entries().map(\.tokens), [first.examples.reduce(0) { $0 + $1.inputIDs.count }])
    }

    func testChangesThatAffectTokenizationMissAndOthersShare() throws {
        let cache = DataCache(directory: dir.appendingPathComponent("cache"))
        let tok = dir.appendingPathComponent("tok")
        func key(_ r: Recipe) throws -> String {
            try DataCache.fingerprint(recipe: r, sources: r.data.train, tokenizerFolder: tok, chatTemplate: nil)
        }
        let base = try key(try recipe())
        XCTAssertEqual(try key(try recipe(["data.packing=true", "data.shuffle=false", "training.learning_rate=0.1", "data.val_set_size=0.1"])), base,
                       "packing, shuffling, splits and training options do not change the tokens")
        XCTAssertNotEqual(try key(try recipe(["data.max_length=17"])), base, "max_length")
        XCTAssertNotEqual(try key(try recipe(["data.add_eos=false"])), base, "add_eos")
        XCTAssertNotEqual(try key(try recipe(["data.dataset_text_field=body"])), base, "text field")
        XCTAssertNotEqual(try key(try recipe(["data.on_bad_row=skip"])), base, "on_bad_row")
        XCTAssertNotEqual(try DataCache.fingerprint(recipe: try recipe(), sources: try recipe().data.train, tokenizerFolder: tok, chatTemplate: "{{ x }}"),
                          base, "chat template")

        _ = try run(try recipe(), cache)
        let data = dir.appendingPathComponent("train.jsonl")
        var bytes = [UInt8](try Data(contentsOf: data))
        let i = try XCTUnwrap(bytes.firstIndex(of: UInt8(ascii: "q")))
        bytes[i] = UInt8(ascii: "Q")
        try Data(bytes).write(to: data)
        XCTAssertNotEqual(try key(try recipe()), base, "one changed byte of the data")
        let (_, afterEdit) = try run(try recipe(), cache)
        XCTAssertTrue(afterEdit[0].hasPrefix("data: tokenized"), "\(afterEdit)")

        let before = try key(try recipe())
        let config = tok.appendingPathComponent("tokenizer_config.json")
        try (try String(contentsOf: config, encoding: .utf8) + "\n").write(to: config, atomically: true, encoding: .utf8)
        XCTAssertNotEqual(try key(try recipe()), before, "a tokenizer file")
        XCTAssertEqual(cache.entries().count, 2)
    }

    func testTruncatedOrDamagedFileIsRemadeWithAWarning() throws {
        let cache = DataCache(directory: dir.appendingPathComponent("cache"))
        let r = try recipe()
        let (good, _) = try run(r, cache)
        let file = try XCTUnwrap(cache.entries().first).url
        let whole = [UInt8](try Data(contentsOf: file))
        let damages: [(String, [UInt8])] = [
            ("truncated", Array(whole.prefix(whole.count - 9))),
            ("header only", Array(whole.prefix(40))),
            ("empty", []),
            ("flipped id", { var b = whole; b[DataCache.headerSize + 4 * 40 + 3] ^= 0x10; return b }()),
            ("huge count", { var b = whole; b[16 + 7] = 0x7F; return b }()),
            ("other version", { var b = whole; b[8] = 9; return b }()),
        ]
        for (what, bytes) in damages {
            try Data(bytes).write(to: file)
            let (again, lines) = try run(r, cache)
            XCTAssertEqual(lines.count, 2, "\(what): \(lines)")
            XCTAssertTrue(lines.first?.hasPrefix("warning: data cache: \(file.path)") ?? false, "\(what): \(lines)")
            XCTAssertTrue(lines.last?.hasPrefix("data: tokenized 40 examples") ?? false, "\(what): \(lines)")
            XCTAssertEqual(again.examples, good.examples, what)
            XCTAssertEqual([UInt8](try Data(contentsOf: file)), whole, "\(what): the file is made again")
        }
        XCTAssertEqual(try cache.clear(), 1)
        XCTAssertEqual(cache.entries().count, 0)
    }

    func testDefaultDirectory() {
        XCTAssertEqual(DataCache.defaultDirectory(environment: ["SFTRUN_CACHE": "/c", "XDG_CACHE_HOME": "/x", "HOME": "/h"]).path, "/c")
        XCTAssertEqual(DataCache.defaultDirectory(environment: ["XDG_CACHE_HOME": "/x", "HOME": "/h"]).path, "/x/sftrun/datasets")
        XCTAssertEqual(DataCache.defaultDirectory(environment: ["HOME": "/h"]).path, "/h/.cache/sftrun/datasets")
    }

    /// `sftrun train` prints the cache line, hits on the second run, and `--no-data-cache` neither reads nor writes.
    func testTrainCommandUsesTheCache() throws {
        var folder = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent()
        if folder.lastPathComponent.hasSuffix(".xctest") { folder.deleteLastPathComponent() }
        let binary = folder.appendingPathComponent("sftrun")
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: binary.path), "sftrun binary not found at \(binary.path); build with `swift build` first")
        let model = TestSupport.packageRoot.appendingPathComponent("Tests/SFTRunKitTests/Fixtures/tiny-llama").path
        let file = dir.appendingPathComponent("t.yaml")
        try """
        model: {name_or_path: \(model)}
        data:
          train: [{path: \(dir.appendingPathComponent("train.jsonl").path)}]
          max_length: 32
        training: {output_dir: \(dir.appendingPathComponent("out").path), max_steps: 1, per_device_train_batch_size: 2, save_steps: 100}
        """.write(to: file, atomically: true, encoding: .utf8)
        func train(_ extra: [String]) throws -> String {
            let p = Process()
            p.executableURL = binary
            p.arguments = ["train", file.path] + extra
            p.environment = ProcessInfo.processInfo.environment.merging(["SFTRUN_CACHE": dir.appendingPathComponent("c").path]) { $1 }
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, text)
            return text
        }
        let uncached = try train(["--no-data-cache"])
        XCTAssertFalse(uncached.contains("data: tokenized") || uncached.contains("data: cache hit"), uncached)
        XCTAssertTrue(uncached.contains("data: 40 training examples (0 dropped)"), uncached)
        XCTAssertEqual(DataCache(directory: dir.appendingPathComponent("c")).entries().count, 0, "--no-data-cache writes nothing")
        XCTAssertTrue(try train([]).contains("data: tokenized 40 examples, cached at \(dir.appendingPathComponent("c").path)/"))
        XCTAssertTrue(try train(["--set", "training.learning_rate=0.01"]).contains("data: cache hit \(dir.appendingPathComponent("c").path)/"))
        XCTAssertFalse(try train(["--set", "data.cache=false"]).contains("data: cache hit"))
    }
}
