import Foundation
import XCTest
@testable import HubClient

final class DownloadTests: FakeHubTestCase {
    func testLFSFileLandsInBlobsWithRelativeSnapshotSymlinkAndRef() throws {
        let url = try client().downloadFile(repo: "org/tiny-model", path: "model.safetensors")
        let sha = try sha256Hex(of: url)
        XCTAssertEqual(url.path, modelFolder.path + "/snapshots/\(Self.tinyCommit)/model.safetensors")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: url.path), "../../blobs/\(sha)")
        XCTAssertEqual(try String(contentsOf: modelFolder.appendingPathComponent("refs/main"), encoding: .utf8), Self.tinyCommit)
        XCTAssertEqual(try Data(contentsOf: url).count, 300_000)
        XCTAssertFalse(cacheListing().contains { $0.hasSuffix(".incomplete") })
        XCTAssertTrue(FileManager.default.fileExists(atPath: cacheDir.appendingPathComponent(".locks/models--org--tiny-model/\(sha).lock").path))
    }

    func testNestedFileSymlinkClimbsOneLevelPerFolder() throws {
        let url = try client().downloadFile(repo: "org/tiny-model", path: "sub/dir/nested.txt")
        let target = try FileManager.default.destinationOfSymbolicLink(atPath: url.path)
        XCTAssertTrue(target.hasPrefix("../../../../blobs/"), target)
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "nested\n")
    }

    func testCachedFileForPinnedCommitMakesNoRequest() throws {
        let c = client()
        _ = try c.downloadFile(repo: "org/tiny-model", path: "config.json")
        let before = try hub.log().count
        _ = try c.downloadFile(repo: "org/tiny-model", revision: Self.tinyCommit, path: "config.json")
        XCTAssertEqual(try hub.log().count, before, "no request at all (the log endpoint is not logged)")
        _ = try c.downloadFile(repo: "org/tiny-model", path: "config.json")
        let after = try hub.log().dropFirst(before)
        XCTAssertFalse(after.contains { $0["method"]?.stringValue == "GET" && !($0["path"]?.stringValue ?? "").hasPrefix("/_log") },
                       "a cached branch re-checks with HEAD only")
    }

    func testSmallJSONFileAcceptsGzipEncoding() throws {
        let url = try client().downloadFile(repo: "org/tiny-model", path: "config.json")
        XCTAssertTrue(try String(contentsOf: url, encoding: .utf8).contains("\"model_type\": \"gpt2\""))
        let get = try requests(matching: "resolve-cache").first { $0["method"]?.stringValue == "GET" }
        XCTAssertTrue(get?["accept_encoding"]?.stringValue?.contains("gzip") ?? false)
    }

    func testOfflineModeReadsCacheWithoutSocketsAndNamesMissingFile() throws {
        _ = try client().downloadFile(repo: "org/tiny-model", path: "config.json")
        let before = try hub.log().count
        let offline = client(configuration(offline: true))
        XCTAssertNoThrow(try offline.downloadFile(repo: "org/tiny-model", path: "config.json"))
        XCTAssertThrowsError(try offline.downloadFile(repo: "org/tiny-model", path: "tokenizer.json")) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains("org/tiny-model") && m.contains("main") && m.contains("tokenizer.json") && m.contains("HF_HUB_OFFLINE"), m)
        }
        XCTAssertEqual(try hub.log().count, before)
    }

    func testUnreachableHubFallsBackToCachedRevisionWithWarning() throws {
        _ = try client().downloadFile(repo: "org/tiny-model", path: "config.json")
        var config = configuration()
        config.endpoint = "http://127.0.0.1:1"
        let url = try client(config).downloadFile(repo: "org/tiny-model", path: "config.json")
        XCTAssertTrue(url.path.hasSuffix("\(Self.tinyCommit)/config.json"))
        XCTAssertTrue(warnings.all.contains { $0.contains("Using the cached copy") }, "\(warnings.all)")
    }

    func testRepoFileNamesWithDotDotAbsoluteBackslashOrNulAreRejectedBeforeAnyRequest() throws {
        for bad in ["../x", "a/../../b", "/etc/passwd", "a\\b", "C:/x", "a\u{0}b", ""] {
            XCTAssertThrowsError(try client().downloadFile(repo: "org/tiny-model", path: bad)) { e in
                guard case .invalidFileName = e as? HubError else { return XCTFail("\(bad): \(e)") }
            }
        }
        XCTAssertEqual(try hub.log().count, 0)
        XCTAssertEqual(cacheListing(), [])
    }

    func testTokenGoesToTheHubHostButNeverToTheCDNHost() throws {
        _ = try client(configuration(token: "hf_secret")).downloadFile(repo: "org/tiny-model", path: "model.safetensors")
        _ = try client(configuration(token: "hf_secret")).downloadFile(repo: "org/tiny-model", path: "config.json")
        let log = try hub.log()
        let head = log.first { $0["method"]?.stringValue == "HEAD" }
        XCTAssertEqual(head?["authorization"]?.stringValue, "Bearer hf_secret")
        let cdn = log.filter { ($0["path"]?.stringValue ?? "").hasPrefix("/cdn/") }
        XCTAssertFalse(cdn.isEmpty)
        for r in cdn {
            XCTAssertTrue(r["host"]?.stringValue?.hasPrefix("localhost") ?? false)
            XCTAssertTrue(r["authorization"]?.isNull ?? false, "token leaked to CDN: \(r)")
        }
        let relative = log.filter { ($0["path"]?.stringValue ?? "").hasPrefix("/api/resolve-cache/") }
        XCTAssertFalse(relative.isEmpty)
        XCTAssertTrue(relative.allSatisfy { $0["authorization"]?.stringValue == "Bearer hf_secret" }, "relative redirects keep auth")
    }

    func testTreeListingFollowsLinkPagination() throws {
        let files = try client().listFiles(repo: "org/tiny-model")
        XCTAssertEqual(files.map(\.path).sorted(), ["README.md", "config.json", "generation_config.json", "model.safetensors",
                                                    "sub/dir/nested.txt", "tokenizer.json"])
        XCTAssertEqual(files.first { $0.path == "model.safetensors" }?.size, 300_000)
        XCTAssertNotNil(files.first { $0.path == "model.safetensors" }?.lfsSHA256)
        XCTAssertGreaterThanOrEqual(try requests(matching: "cursor=").count, 2)
    }

    func testSnapshotDownloadFetchesFilesInParallelWithPatterns() throws {
        let snap = try client().snapshotDownload(repo: "org/tiny-model", exclude: ["*.md"])
        let files = (FileManager.default.enumerator(atPath: snap.path)?.allObjects as? [String] ?? [])
            .filter { !$0.hasSuffix("sub") && !$0.hasSuffix("dir") }.sorted()
        XCTAssertEqual(files, ["config.json", "generation_config.json", "model.safetensors", "sub/dir/nested.txt", "tokenizer.json"])
        let jsonOnly = try client().snapshotDownload(repo: "org/tiny-data", type: .dataset, include: ["data/"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: jsonOnly.appendingPathComponent("data/train.jsonl").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: jsonOnly.appendingPathComponent("README.md").path))
        XCTAssertTrue(jsonOnly.path.contains("datasets--org--tiny-data/snapshots/"))
    }

    func testTwoClientsDownloadingTheSameBlobAtOnceBothSucceed() throws {
        let a = client(), b = client()
        let results = ResultsBox()
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            results.set(i, Result { try (i % 2 == 0 ? a : b).downloadFile(repo: "org/tiny-model", path: "model.safetensors") })
        }
        for r in results.all { XCTAssertEqual(try sha256Hex(of: try r.get()).count, 64) }
        let blobs = try FileManager.default.contentsOfDirectory(atPath: modelFolder.appendingPathComponent("blobs").path)
        XCTAssertEqual(blobs.count, 1, "\(blobs)")
    }

    func testRevisionWithSlashIsPercentEncodedAndStoredAsNestedRef() throws {
        _ = try client().downloadFile(repo: "org/tiny-model", revision: "refs/pr/1", path: "config.json")
        XCTAssertFalse(try requests(matching: "/resolve/refs%2Fpr%2F1/config.json").isEmpty)
        XCTAssertEqual(try String(contentsOf: modelFolder.appendingPathComponent("refs/refs/pr/1"), encoding: .utf8),
                       String(repeating: "b", count: 39) + "2")
    }

    func testRenamedRepoRelativeRedirectIsFollowed() throws {
        let url = try client().downloadFile(repo: "org/old-name", path: "model.safetensors")
        XCTAssertEqual(try Data(contentsOf: url).count, 300_000)
    }

    func testResolveRevisionUsesTheRevisionAPI() throws {
        XCTAssertEqual(try client().resolveRevision(repo: "org/tiny-model", revision: "v1.0"), Self.tinyCommit)
        XCTAssertEqual(try String(contentsOf: modelFolder.appendingPathComponent("refs/v1.0"), encoding: .utf8), Self.tinyCommit)
    }

    func testModelFilesPrefersSafetensorsShardsFromTheIndex() throws {
        let files = try client().modelFiles(repo: "org/sharded")
        XCTAssertEqual(files, ["model.safetensors.index.json", "model-00001-of-00002.safetensors",
                               "model-00002-of-00002.safetensors", "config.json", "tokenizer_config.json"])
        let snap = try client().downloadModel(repo: "org/sharded")
        XCTAssertTrue(FileManager.default.fileExists(atPath: snap.appendingPathComponent("model-00002-of-00002.safetensors").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: snap.appendingPathComponent("pytorch_model.bin").path))
    }

    func testCacheScanReportsSizesAndRemoveDeletesTheRepo() throws {
        _ = try client().downloadFile(repo: "org/tiny-model", path: "model.safetensors")
        _ = try client().downloadFile(repo: "org/tiny-data", type: .dataset, path: "README.md")
        let repos = try client().cache.scan()
        XCTAssertEqual(repos.map(\.repo), ["org/tiny-data", "org/tiny-model"])
        XCTAssertEqual(repos[1].sizeOnDisk, 300_000)
        XCTAssertEqual(repos[1].revisions[Self.tinyCommit], ["main"])
        XCTAssertTrue(try client().cache.remove(repo: "org/tiny-model"))
        XCTAssertEqual(try client().cache.scan().map(\.repo), ["org/tiny-data"])
    }
}

final class ResultsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Int: Result<URL, Error>] = [:]
    func set(_ i: Int, _ r: Result<URL, Error>) { lock.lock(); items[i] = r; lock.unlock() }
    var all: [Result<URL, Error>] { lock.lock(); defer { lock.unlock() }; return Array(items.values) }
}
