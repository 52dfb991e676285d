import XCTest
import TestSupport
@testable import SFTRunKit

final class InspectCommandTests: XCTestCase {
    func makeRun(_ data: String, extra: String = "") throws -> (URL, String) {
        let dir = try TestSupport.makeTemporaryDirectory()
        for f in ["tokenizer.json", "tokenizer_config.json"] {
            try FileManager.default.copyItem(at: TestSupport.packageRoot.appendingPathComponent("Tests/TokenizationTests/Fixtures/smollm2/\(f)"),
                                             to: dir.appendingPathComponent(f))
        }
        try data.write(to: dir.appendingPathComponent("d.jsonl"), atomically: true, encoding: .utf8)
        let recipe = "model:\n  name_or_path: \(dir.path)\ndata:\n  train:\n    path: \(dir.path)/d.jsonl\n  max_length: 8\n" + extra
        try recipe.write(to: dir.appendingPathComponent("r.yaml"), atomically: true, encoding: .utf8)
        return (dir, dir.appendingPathComponent("r.yaml").path)
    }

    func testShowsLossSpansAndStatistics() throws {
        let (dir, recipe) = try makeRun("{\"prompt\": \"2+2=\", \"completion\": \" 4\"}\n{\"prompt\": \"A very long prompt that goes past eight tokens for sure\", \"completion\": \" x\"}\n",
                                       extra: "  on_bad_row: skip\n  max_unsupervised_fraction: 0.6\n")
        defer { try? FileManager.default.removeItem(at: dir) }
        var out: [String] = [], err: [String] = []
        var command = InspectCommand()
        command.color = false
        command.out = { out.append($0) }
        command.err = { err.append($0) }
        XCTAssertEqual(command.run(path: recipe, overrides: [], count: 1), 0, err.joined(separator: "\n"))
        XCTAssertTrue(out.contains("2+2=« 4<|im_end|>»"), out.joined(separator: "\n"))
        XCTAssertTrue(out.contains { $0.hasPrefix("rows read: 2   bad rows skipped: 0   examples kept: 1   dropped: 1") }, out.joined(separator: "\n"))
        XCTAssertTrue(err.contains { $0.contains("no token carries loss after truncation") }, err.joined(separator: "\n"))
    }

    func testTooManyUnsupervisedExamplesStopTheRun() throws {
        let (dir, recipe) = try makeRun("{\"prompt\": \"A very long prompt that goes past eight tokens for sure\", \"completion\": \" x\"}\n")
        defer { try? FileManager.default.removeItem(at: dir) }
        var err: [String] = []
        var command = InspectCommand()
        command.out = { _ in }
        command.err = { err.append($0) }
        XCTAssertEqual(command.run(path: recipe, overrides: [], count: 1), 1)
        XCTAssertTrue(err.last!.contains("carry no loss (more than data.max_unsupervised_fraction 0.01)"), err.joined(separator: "\n"))
    }

    func testHubDatasetNotInTheCacheOfflineIsNamed() throws {
        let (dir, recipe) = try makeRun("")
        defer { try? FileManager.default.removeItem(at: dir) }
        setenv("HF_HUB_OFFLINE", "1", 1)
        setenv("HF_HUB_CACHE", dir.appendingPathComponent("cache").path, 1)
        defer { unsetenv("HF_HUB_OFFLINE"); unsetenv("HF_HUB_CACHE") }
        var err: [String] = []
        var command = InspectCommand()
        command.out = { _ in }
        command.err = { err.append($0) }
        XCTAssertEqual(command.run(path: recipe, overrides: ["data.train.path=stanfordnlp/imdb"], count: 1), 1)
        XCTAssertTrue(err.last!.contains("data stanfordnlp/imdb:") && err.last!.contains("offline mode is enabled"), err.joined(separator: "\n"))
    }
}
