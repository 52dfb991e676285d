import Foundation
import Values
import XCTest
@testable import HubClient

/// #9 leftovers: git blob sha1 of non-LFS files, the no-symlinks cache layout, and giving up on a held lock.
final class CacheIntegrityTests: FakeHubTestCase {
    var configPaths: [String] { cacheListing().filter { $0.contains("/snapshots/") && $0.hasSuffix("config.json") } }

    func testCorruptedGitStoredFileIsCaughtByItsBlobSha1AndRetriedOnce() throws {
        try hub.setFaults([["match": "resolve-cache/models/org/tiny-model", "method": "GET", "action": "corrupt", "offset": 3]])
        let url = try client().downloadFile(repo: "org/tiny-model", path: "config.json")
        let bytes = [UInt8](try Data(contentsOf: url))
        XCTAssertEqual(GitBlobHasher.hex(bytes), url.resolvingSymlinksInPath().lastPathComponent)
        XCTAssertEqual(try requests(matching: "resolve-cache/models/org/tiny-model").filter { $0["method"]?.stringValue == "GET" }.count, 2)
    }

    func testCorruptedGitStoredFileTwiceFailsAndCommitsNothing() throws {
        try hub.setFaults([["match": "resolve-cache/models/org/tiny-model", "method": "GET", "action": "corrupt", "times": 2]])
        XCTAssertThrowsError(try client().downloadFile(repo: "org/tiny-model", path: "config.json")) { e in
            guard case .blobHashMismatch("config.json", let expected, let actual) = e as? HubError else { return XCTFail("\(e)") }
            XCTAssertNotEqual(expected, actual)
            XCTAssertTrue("\(e)".contains("git blob sha1 mismatch"), "\(e)")
        }
        XCTAssertEqual(configPaths, [])
        XCTAssertFalse(cacheListing().contains { $0.contains("/blobs/") }, "\(cacheListing())")
    }

    func testWithoutSymlinksSnapshotsHoldTheFilesAsHuggingFaceHubLaysThemOut() throws {
        var config = configuration()
        config.disableSymlinks = true
        let c = client(config)
        let url = try c.downloadFile(repo: "org/tiny-model", path: "model.safetensors")
        var st = stat()
        XCTAssertEqual(lstat(url.path, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFREG, "a real file, not a symlink")
        XCTAssertEqual(try Data(contentsOf: url).count, 300_000)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: modelFolder.appendingPathComponent("blobs").path), [],
                       "a new blob is moved into the snapshot (huggingface_hub _create_symlink new_blob=True)")
        XCTAssertEqual(try c.downloadFile(repo: "org/tiny-model", path: "model.safetensors"), url, "found again without a blob")
        // The forced flag is the user's choice: no warning; a refused symlink would warn once.
        XCTAssertFalse(warnings.all.contains { $0.contains("symlinks") }, "\(warnings.all)")
        let offline = HubClient(configuration: configuration(offline: true))
        XCTAssertEqual(try offline.downloadFile(repo: "org/tiny-model", path: "model.safetensors"), url)
    }

    func testFileSystemRefusingSymlinksFallsBackWithOneWarning() throws {
        HubClient.createSymlink = { _, _ in errno = EPERM; return -1 }
        defer { HubClient.createSymlink = { symlink($0, $1) } }
        let c = client()
        let a = try c.downloadFile(repo: "org/tiny-model", path: "config.json")
        let b = try c.downloadFile(repo: "org/tiny-model", path: "tokenizer.json")
        for url in [a, b] {
            var st = stat()
            XCTAssertEqual(lstat(url.path, &st), 0)
            XCTAssertEqual(st.st_mode & S_IFMT, S_IFREG, url.path)
        }
        let w = warnings.all.filter { $0.contains("does not support them in \(cacheDir.path)") }
        XCTAssertEqual(w.count, 1, "\(warnings.all)")
        XCTAssertTrue(w[0].contains("HF_HUB_DISABLE_SYMLINKS_WARNING"))
        var quiet = configuration()
        quiet.disableSymlinksWarning = true
        let before = warnings.all.count
        _ = try client(quiet).downloadFile(repo: "org/tiny-model", path: "generation_config.json")
        XCTAssertEqual(warnings.all.count, before, "HF_HUB_DISABLE_SYMLINKS_WARNING silences it")
    }

    func testExistingBlobIsCopiedNotMovedWithoutSymlinks() throws {
        _ = try client().downloadFile(repo: "org/tiny-model", path: "README.md")
        var config = configuration()
        config.disableSymlinks = true
        // refs/pr/1 is another commit with the same README, so its snapshot shares the blob.
        let url = try client(config).downloadFile(repo: "org/tiny-model", revision: "refs/pr/1", path: "README.md")
        var st = stat()
        XCTAssertEqual(lstat(url.path, &st), 0)
        XCTAssertEqual(st.st_mode & S_IFMT, S_IFREG)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: modelFolder.appendingPathComponent("blobs").path).count, 1,
                       "the shared blob stays for the symlinked snapshot")
        XCTAssertEqual(try String(contentsOf: url, encoding: .utf8), "# tiny\n")
    }

    func testNoSymlinksWarningIsHuggingFaceHubsAndCanBeSilenced() {
        XCTAssertTrue(HubClient.noSymlinksWarning("/c").contains("HF_HUB_DISABLE_SYMLINKS_WARNING"))
        let env = HubConfiguration.fromEnvironment(["HOME": "/h", "HF_HUB_DISABLE_SYMLINKS": "1", "HF_HUB_DISABLE_SYMLINKS_WARNING": "true",
                                                    "SFTRUN_HUB_LOCK_TIMEOUT": "30"])
        XCTAssertTrue(env.disableSymlinks)
        XCTAssertTrue(env.disableSymlinksWarning)
        XCTAssertEqual(env.lockTimeout, 30)
        XCTAssertNil(HubConfiguration.fromEnvironment(["HOME": "/h"]).lockTimeout, "waits as long as the holder lives by default")
    }

    func testLockHeldByALiveHolderIsReportedThenGivenUpOnNamingTheLockFile() throws {
        let sha = try client().listFiles(repo: "org/tiny-model").first { $0.path == "model.safetensors" }!.lfsSHA256!
        let lock = cacheDir.appendingPathComponent(".locks/models--org--tiny-model/\(sha).lock")
        try FileManager.default.createDirectory(at: lock.deletingLastPathComponent(), withIntermediateDirectories: true)
        let fd = open(lock.path, O_RDWR | O_CREAT, 0o664)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        XCTAssertEqual(flock(fd, LOCK_EX), 0)
        var config = configuration()
        config.lockLogInterval = 0.2
        config.lockTimeout = 0.9
        let start = Date()
        XCTAssertThrowsError(try client(config).downloadFile(repo: "org/tiny-model", path: "model.safetensors")) { e in
            guard case .lockTimeout(let file, let waited) = e as? HubError else { return XCTFail("\(e)") }
            XCTAssertEqual(file, lock.path)
            XCTAssertGreaterThanOrEqual(waited, 0.9)
            XCTAssertTrue("\(e)".contains(lock.path) && "\(e)".contains("SFTRUN_HUB_LOCK_TIMEOUT"), "\(e)")
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 5)
        let waits = warnings.all.filter { $0.hasPrefix("Still waiting to acquire lock on \(lock.path)") }
        XCTAssertGreaterThanOrEqual(waits.count, 3, "\(warnings.all)")
        XCTAssertFalse(cacheListing().contains { $0.contains("/snapshots/") && $0.hasSuffix("model.safetensors") })
    }
}
