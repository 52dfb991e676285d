import Foundation
import HubClient
import TestSupport
import XCTest

final class FileDigestTests: XCTestCase {
    /// The remembered digest is the file's digest, and a rewritten file is hashed again.
    func testRememberedDigestFollowsTheFile() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let f = dir.appendingPathComponent("d.jsonl")
        try Data("{\"text\": \"a\"}\n".utf8).write(to: f)
        XCTAssertEqual(try FileDigest.sha256(ofUnchanged: f), try FileDigest.sha256(of: f))
        XCTAssertEqual(try FileDigest.sha256(ofUnchanged: f), FileDigest.sha256(Array("{\"text\": \"a\"}\n".utf8)))
        try Data("{\"text\": \"bb\"}\n".utf8).write(to: f)
        XCTAssertEqual(try FileDigest.sha256(ofUnchanged: f), FileDigest.sha256(Array("{\"text\": \"bb\"}\n".utf8)))
    }
}
