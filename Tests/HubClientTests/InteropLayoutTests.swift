import Foundation
import XCTest
@testable import HubClient

/// Driven by scripts/check_hub_interop.py: downloads the same files the script fetched with Python
/// huggingface_hub into `SFTRUN_INTEROP_CACHE` from `SFTRUN_INTEROP_ENDPOINT`, so the script can compare the two
/// cache trees. Skipped when those variables are absent (normal test runs).
final class InteropLayoutTests: XCTestCase {
    func testDownloadsTheInteropFilesIntoTheGivenCache() throws {
        let env = ProcessInfo.processInfo.environment
        guard let cache = env["SFTRUN_INTEROP_CACHE"], let endpoint = env["SFTRUN_INTEROP_ENDPOINT"] else {
            throw XCTSkip("run by scripts/check_hub_interop.py")
        }
        let client = HubClient(configuration: HubConfiguration(endpoint: endpoint, cacheDirectory: URL(fileURLWithPath: cache)))
        for (revision, path) in [("main", "model.safetensors"), ("main", "config.json"), ("main", "sub/dir/nested.txt"),
                                 ("refs/pr/1", "config.json")] {
            _ = try client.downloadFile(repo: "org/tiny-model", revision: revision, path: path)
        }
        _ = try client.downloadFile(repo: "org/tiny-data", type: .dataset, path: "data/train.jsonl")
        XCTAssertThrowsError(try client.downloadFile(repo: "org/tiny-model", path: "missing.json"))
        // The other way round: offline, read the cache Python huggingface_hub wrote.
        if let pyCache = env["SFTRUN_INTEROP_PY_CACHE"] {
            let offline = HubClient(configuration: HubConfiguration(endpoint: "http://127.0.0.1:1", cacheDirectory: URL(fileURLWithPath: pyCache), offline: true))
            for (revision, path) in [("main", "model.safetensors"), ("main", "sub/dir/nested.txt"), ("refs/pr/1", "config.json")] {
                let url = try offline.downloadFile(repo: "org/tiny-model", revision: revision, path: path)
                XCTAssertTrue(FileManager.default.fileExists(atPath: url.path), url.path)
            }
            XCTAssertNoThrow(try offline.downloadFile(repo: "org/tiny-data", type: .dataset, path: "data/train.jsonl"))
        }
    }
}
