import Foundation
import Values
import XCTest
@testable import HubClient

/// One test per injected fault (reliability notes §6, items 1-10): the right retry/resume/error and never a
/// corrupt file under blobs/ or snapshots/.
final class FaultTests: FakeHubTestCase {
    func assertNothingCommitted(file: StaticString = #filePath, line: UInt = #line) {
        let l = cacheListing()
        XCTAssertFalse(l.contains { $0.contains("/snapshots/") && $0.hasSuffix("model.safetensors") }, "\(l)", file: file, line: line)
        XCTAssertFalse(l.contains { $0.contains("/blobs/") && !$0.hasSuffix(".incomplete") }, "\(l)", file: file, line: line)
    }

    func testConnectionDropMidFileResumesWithRange() throws {
        try hub.setFaults([["match": "/cdn/", "method": "GET", "action": "drop", "after": 120_000]])
        let url = try client().downloadFile(repo: "org/tiny-model", path: "model.safetensors")
        XCTAssertEqual(try Data(contentsOf: url).count, 300_000)
        let ranges = try requests(matching: "/cdn/").compactMap { $0["range"]?.stringValue }
        XCTAssertEqual(ranges, ["bytes=120000-"])
    }

    func testServerIgnoringRangeTruncatesAndRestarts() throws {
        try hub.setFaults([["match": "/cdn/", "method": "GET", "action": "drop", "after": 100_000],
                           ["match": "/cdn/", "method": "GET", "action": "ignore_range", "times": 5]])
        let url = try client().downloadFile(repo: "org/tiny-model", path: "model.safetensors")
        XCTAssertEqual(try Data(contentsOf: url).count, 300_000, "not 100000 + 300000")
        XCTAssertEqual(try sha256Hex(of: url), url.resolvingSymlinksInPath().lastPathComponent)
    }

    func testPartialFileFromAnEarlierRunIsResumed() throws {
        let sha = try client().listFiles(repo: "org/tiny-model").first { $0.path == "model.safetensors" }!.lfsSHA256!
        _ = try client().downloadFile(repo: "org/tiny-model", path: "model.safetensors")
        let blob = modelFolder.appendingPathComponent("blobs/\(sha)")
        let bytes = try Data(contentsOf: blob)
        try FileManager.default.removeItem(at: modelFolder)
        try FileManager.default.createDirectory(at: blob.deletingLastPathComponent(), withIntermediateDirectories: true)
        try bytes.prefix(50_000).write(to: URL(fileURLWithPath: blob.path + ".incomplete"))
        let url = try client().downloadFile(repo: "org/tiny-model", path: "model.safetensors")
        XCTAssertEqual(try Data(contentsOf: url), bytes)
        XCTAssertEqual(try requests(matching: "/cdn/").last?["range"]?.stringValue, "bytes=50000-")
    }

    func testServerErrorsAreRetriedThenSucceed() throws {
        try hub.setFaults([["match": "config.json", "method": "HEAD", "action": "status", "status": 500, "times": 1],
                           ["match": "config.json", "method": "HEAD", "action": "status", "status": 503, "times": 1]])
        XCTAssertNoThrow(try client().downloadFile(repo: "org/tiny-model", path: "config.json"))
        XCTAssertEqual(try requests(matching: "/resolve/main/config.json").count, 3)
    }

    func testTooManyRequestsHonoursRetryAfter() throws {
        try hub.setFaults([["match": "/cdn/", "method": "GET", "action": "status", "status": 429,
                            "headers": ["Retry-After": "1"]]])
        let start = Date()
        XCTAssertNoThrow(try client().downloadFile(repo: "org/tiny-model", path: "model.safetensors"))
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 1.0)
    }

    func testWrongSha256IsRetriedOnce() throws {
        try hub.setFaults([["match": "/cdn/", "method": "GET", "action": "corrupt", "offset": 7]])
        let url = try client().downloadFile(repo: "org/tiny-model", path: "model.safetensors")
        XCTAssertEqual(try sha256Hex(of: url), url.resolvingSymlinksInPath().lastPathComponent)
    }

    func testWrongSha256TwiceFailsAndCommitsNothing() throws {
        try hub.setFaults([["match": "/cdn/", "method": "GET", "action": "corrupt", "times": 2]])
        XCTAssertThrowsError(try client().downloadFile(repo: "org/tiny-model", path: "model.safetensors")) { e in
            guard case .checksumMismatch(_, let expected, let actual) = e as? HubError else { return XCTFail("\(e)") }
            XCTAssertNotEqual(expected, actual)
            XCTAssertTrue("\(e)".contains("retry"))
        }
        assertNothingCommitted()
        XCTAssertFalse(cacheListing().contains { $0.hasSuffix(".incomplete") })
    }

    func testShortBodyWithCleanCloseIsASizeMismatch() throws {
        try hub.setFaults([["match": "/cdn/", "method": "GET", "action": "short", "after": 1000, "times": 2]])
        XCTAssertThrowsError(try client().downloadFile(repo: "org/tiny-model", path: "model.safetensors")) { e in
            guard case .sizeMismatch(_, 300_000, 1000) = e as? HubError else { return XCTFail("\(e)") }
        }
        assertNothingCommitted()
    }

    func testGatedRepoSaysToAcceptTheLicenceAndSetToken() throws {
        XCTAssertThrowsError(try client().downloadFile(repo: "org/gated", path: "config.json")) { e in
            guard case .gatedRepository(_, _, 401) = e as? HubError else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("HF_TOKEN") && "\(e)".contains("licence"))
        }
        XCTAssertThrowsError(try client(configuration(token: "hf_wrong")).downloadFile(repo: "org/gated", path: "config.json")) { e in
            guard case .gatedRepository(_, _, 403) = e as? HubError else { return XCTFail("\(e)") }
            XCTAssertFalse("\(e)".contains("hf_wrong"), "token must never appear in messages")
        }
        XCTAssertNoThrow(try client(configuration(token: "hf_good")).downloadFile(repo: "org/gated", path: "config.json"))
    }

    func testRepoNotFoundIsNotRetried() throws {
        XCTAssertThrowsError(try client().downloadFile(repo: "org/missing", path: "config.json")) { e in
            guard case .repositoryNotFound = e as? HubError else { return XCTFail("\(e)") }
        }
        XCTAssertEqual(try requests(matching: "org/missing").count, 1)
    }

    func testRevisionNotFound() throws {
        XCTAssertThrowsError(try client().downloadFile(repo: "org/tiny-model", revision: "nope", path: "config.json")) { e in
            guard case .revisionNotFound(_, "nope", _) = e as? HubError else { return XCTFail("\(e)") }
        }
    }

    func testEntryNotFoundWritesNoExistAndIsNotAskedAgain() throws {
        XCTAssertThrowsError(try client().downloadFile(repo: "org/tiny-model", path: "chat_template.jinja")) { e in
            guard case .entryNotFound = e as? HubError else { return XCTFail("\(e)") }
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: modelFolder.appendingPathComponent(".no_exist/\(Self.tinyCommit)/chat_template.jinja").path))
        let before = try hub.log().count
        XCTAssertThrowsError(try client().downloadFile(repo: "org/tiny-model", revision: Self.tinyCommit, path: "chat_template.jinja"))
        XCTAssertEqual(try hub.log().count, before)
    }

    func testSlowServerTimesOutAndLeavesNoCache() throws {
        try hub.setFaults([["match": "config.json", "method": "HEAD", "action": "slow", "seconds": 3, "times": 10]])
        var config = configuration()
        config.etagTimeout = 0.5
        config.maxRetries = 1
        XCTAssertThrowsError(try client(config).downloadFile(repo: "org/tiny-model", path: "config.json")) { e in
            guard case .offlineMissing(_, _, _, false) = e as? HubError else { return XCTFail("\(e)") }
        }
        XCTAssertFalse(cacheListing().contains { $0.contains("snapshots/") })
    }

    func testMissingCommitHeaderIsAMetadataErrorWithNoCacheWrites() throws {
        try hub.setFaults([["match": "config.json", "method": "HEAD", "action": "status", "status": 200,
                            "headers": ["ETag": "\"abc\""]]])
        XCTAssertThrowsError(try client().downloadFile(repo: "org/tiny-model", path: "config.json")) { e in
            guard case .metadataMissing(_, "X-Repo-Commit") = e as? HubError else { return XCTFail("\(e)") }
        }
        XCTAssertEqual(cacheListing(), [])
    }
}

final class MoreFaultTests: FakeHubTestCase {
    func testRangeNotSatisfiableDiscardsThePartialAndRestartsOnce() throws {
        let sha = try client().listFiles(repo: "org/tiny-model").first { $0.path == "model.safetensors" }!.lfsSHA256!
        let blobs = modelFolder.appendingPathComponent("blobs")
        try FileManager.default.createDirectory(at: blobs, withIntermediateDirectories: true)
        try Data(repeating: 0x55, count: 5000).write(to: blobs.appendingPathComponent(sha + ".incomplete"))
        try hub.setFaults([["match": "/cdn/", "method": "GET", "action": "status", "status": 416,
                            "headers": ["Content-Range": "bytes */300000"]]])
        let url = try client().downloadFile(repo: "org/tiny-model", path: "model.safetensors")
        XCTAssertEqual(try sha256Hex(of: url), sha)
        XCTAssertEqual(try requests(matching: "/cdn/").map { $0["range"]?.stringValue ?? "none" }, ["bytes=5000-", "none"])
    }

    func testExpiredSignedCDNURLIsRefreshedWithANewHeadAndResumed() throws {
        try hub.setFaults([["match": "/cdn/", "method": "GET", "action": "drop", "after": 70_000],
                           ["match": "/cdn/", "method": "GET", "action": "status", "status": 403]])
        let url = try client().downloadFile(repo: "org/tiny-model", path: "model.safetensors")
        XCTAssertEqual(try sha256Hex(of: url), url.resolvingSymlinksInPath().lastPathComponent)
        XCTAssertEqual(try requests(matching: "/resolve/").filter { $0["method"]?.stringValue == "HEAD" }.count, 2)
        XCTAssertEqual(try requests(matching: "/cdn/").last?["range"]?.stringValue, "bytes=70000-")
    }

    func testBlobLockHeldByAnotherProcessBlocksUntilThatProcessIsKilled() throws {
        let sha = try client().listFiles(repo: "org/tiny-model").first { $0.path == "model.safetensors" }!.lfsSHA256!
        let lock = cacheDir.appendingPathComponent(".locks/models--org--tiny-model/\(sha).lock")
        try FileManager.default.createDirectory(at: lock.deletingLastPathComponent(), withIntermediateDirectories: true)
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["python3", "-c", "import fcntl,sys,time; f=open(sys.argv[1],'w'); fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)", lock.path]
        let out = Pipe()
        holder.standardOutput = out
        try holder.run()
        _ = out.fileHandleForReading.readData(ofLength: 6)
        let done = DispatchSemaphore(value: 0)
        let result = ResultsBox()
        let c = client()
        DispatchQueue.global().async {
            result.set(0, Result { try c.downloadFile(repo: "org/tiny-model", path: "model.safetensors") })
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 0.5), .timedOut, "must wait for the lock holder")
        kill(holder.processIdentifier, SIGKILL)
        holder.waitUntilExit()
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success, "a killed holder's lock is released by the kernel")
        XCTAssertEqual(try sha256Hex(of: try XCTUnwrap(result.all.first).get()), sha)
    }

    func testDiskFullNamesThePathAndTheBytesNeeded() throws {
        let fd = open("/dev/full", O_WRONLY)
        try XCTSkipIf(fd < 0, "/dev/full is not available")
        defer { close(fd) }
        let file = PartialFile(fd: fd, path: "/cache/blobs/x.incomplete", expected: 10_000)
        let bytes = [UInt8](repeating: 1, count: 4096)
        XCTAssertThrowsError(try bytes.withUnsafeBytes { (b: UnsafeRawBufferPointer) throws -> Void in try file.append(b) }) { e in
            guard case .diskFull("/cache/blobs/x.incomplete", 10_000) = e as? HubError else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("Free disk space"))
        }
    }

    func testProgressReporterSeesStartBytesAndFinish() throws {
        let rec = RecordingReporter()
        let c = HubClient(configuration: configuration(), progress: rec)
        _ = try c.downloadFile(repo: "org/tiny-model", path: "model.safetensors")
        _ = try c.downloadFile(repo: "org/tiny-model", revision: Self.tinyCommit, path: "model.safetensors")
        XCTAssertEqual(rec.events.first, "start model.safetensors 300000")
        XCTAssertEqual(rec.maxBytes, 300_000)
        XCTAssertEqual(Array(rec.events.suffix(2)), ["finish model.safetensors false", "finish model.safetensors true"])
    }
}

final class RecordingReporter: DownloadProgressReporter, @unchecked Sendable {
    private let lock = NSLock()
    private(set) var events: [String] = []
    private(set) var maxBytes = 0
    func fileStarted(_ path: String, totalBytes: Int, alreadyHave: Int) { lock.lock(); events.append("start \(path) \(totalBytes)"); lock.unlock() }
    func fileProgressed(_ path: String, bytesDone: Int, totalBytes: Int) { lock.lock(); maxBytes = max(maxBytes, bytesDone); lock.unlock() }
    func fileFinished(_ path: String, fromCache: Bool) { lock.lock(); events.append("finish \(path) \(fromCache)"); lock.unlock() }
}
