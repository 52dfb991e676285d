import Foundation
import TestSupport
import Values
import XCTest
@testable import HubClient

/// Runs Fixtures/fake_hub.py on 127.0.0.1 with an ephemeral port; faults and the request log go through its
/// control endpoints.
final class FakeHub {
    let process = Process()
    let port: Int
    var endpoint: String { "http://127.0.0.1:\(port)" }

    init() throws {
        let script = TestSupport.packageRoot.appendingPathComponent("Tests/HubClientTests/Fixtures/fake_hub.py")
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script.path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        var line = [UInt8]()
        while true {
            let byte = out.fileHandleForReading.readData(ofLength: 1)
            guard let b = byte.first else { throw NSError(domain: "FakeHub", code: 1, userInfo: [NSLocalizedDescriptionKey: "fake_hub.py exited before printing its port"]) }
            if b == UInt8(ascii: "\n") { break }
            line.append(b)
        }
        guard let p = Int(String(decoding: line, as: UTF8.self)) else { throw NSError(domain: "FakeHub", code: 2) }
        port = p
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }

    /// Installs faults: each `["match": substring of the path, "method": "GET"/"HEAD", "action": ..., "times": n]`.
    func setFaults(_ faults: [Value]) throws {
        _ = try CurlRequest(method: "POST", url: endpoint + "/_control", postBody: JSON.serialize(.array(faults))).perform()
    }

    /// Every request the server saw, oldest first.
    func log() throws -> [Value] {
        var bytes: [UInt8] = []
        _ = try CurlRequest(url: endpoint + "/_log").perform { _, c in bytes.append(contentsOf: c) }
        return try JSON.parse(bytes: bytes).arrayValue ?? []
    }
}

/// A fresh fake Hub and an empty cache per test.
class FakeHubTestCase: XCTestCase {
    var hub: FakeHub!
    var cacheDir: URL!
    let warnings = WarningLog()

    override func setUpWithError() throws {
        hub = try FakeHub()
        cacheDir = try TestSupport.makeTemporaryDirectory(prefix: "hubclient")
    }

    override func tearDown() {
        hub?.stop()
        if let cacheDir { try? FileManager.default.removeItem(at: cacheDir) }
    }

    func configuration(token: String? = nil, offline: Bool = false) -> HubConfiguration {
        HubConfiguration(endpoint: hub.endpoint, cacheDirectory: cacheDir, token: token, offline: offline,
                         downloadTimeout: 2, etagTimeout: 2, maxRetries: 3, backoffBase: 0.01, backoffMax: 0.05,
                         maxParallelDownloads: 4)
    }

    func client(_ config: HubConfiguration? = nil) -> HubClient {
        let w = warnings
        return HubClient(configuration: config ?? configuration(), warningHandler: { w.add($0) })
    }

    var modelFolder: URL { cacheDir.appendingPathComponent("models--org--tiny-model") }

    /// Every path under the cache root, relative, sorted (for "nothing was written" checks).
    func cacheListing() -> [String] {
        (FileManager.default.enumerator(atPath: cacheDir.path)?.allObjects as? [String] ?? []).sorted()
    }

    func requests(matching s: String) throws -> [Value] {
        try hub.log().filter { ($0["path"]?.stringValue ?? "").contains(s) }
    }

    static let tinyCommit = String(repeating: "a", count: 39) + "1"
}

/// Collects warnings from the client.
final class WarningLog: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
}

func sha256Hex(of url: URL) throws -> String { SHA256.hex([UInt8](try Data(contentsOf: url))) }
