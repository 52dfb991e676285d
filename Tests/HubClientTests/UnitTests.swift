import Foundation
import XCTest
@testable import HubClient

final class UnitTests: XCTestCase {
    func testSHA256MatchesKnownVectors() {
        XCTAssertEqual(SHA256.hex([]), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(SHA256.hex(Array("abc".utf8)), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(SHA256.hex(Array(String(repeating: "a", count: 1000).utf8)),
                       "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    func testFnmatchFollowsPythonRules() {
        XCTAssertTrue(FileSelection.fnmatch("sub/dir/a.json", "*.json"), "* crosses /")
        XCTAssertTrue(FileSelection.fnmatch("model-00001-of-00002.safetensors", "model-?????-of-*.safetensors"))
        XCTAssertTrue(FileSelection.fnmatch("a1", "a[0-9]"))
        XCTAssertFalse(FileSelection.fnmatch("ab", "a[!b]"))
        XCTAssertFalse(FileSelection.fnmatch("config.json", "*.bin"))
        XCTAssertTrue(FileSelection.fnmatch("[x", "[x"))
    }

    func testFilterAppliesAllowThenIgnoreAndFolderPatterns() {
        let paths = ["a.json", "b.bin", "data/x.txt", "README.md"]
        XCTAssertEqual(FileSelection.filter(paths, include: ["*.json", "data/"], exclude: nil), ["a.json", "data/x.txt"])
        XCTAssertEqual(FileSelection.filter(paths, include: nil, exclude: ["*.bin", "*.md"]), ["a.json", "data/x.txt"])
    }

    func testWeightSelectionPrefersSafetensorsOverBin() throws {
        XCTAssertEqual(try FileSelection.weightFiles(in: ["pytorch_model.bin", "model.safetensors"]) { _ in [] }, ["model.safetensors"])
        XCTAssertEqual(try FileSelection.weightFiles(in: ["pytorch_model.bin"]) { _ in [] }, ["pytorch_model.bin"])
        XCTAssertNil(try FileSelection.weightFiles(in: ["config.json"]) { _ in [] })
        XCTAssertThrowsError(try FileSelection.weightFiles(in: ["model.safetensors.index.json"]) { _ in ["../evil.safetensors"] })
    }

    func testLinkHeaderNextIsParsed() {
        XCTAssertEqual(HubClient.nextLink("<https://h/api?cursor=x>; rel=\"next\""), "https://h/api?cursor=x")
        XCTAssertNil(HubClient.nextLink("<https://h/a>; rel=\"prev\""))
    }

    func testURLsMatchHuggingFaceHub() {
        let c = HubClient(configuration: HubConfiguration(cacheDirectory: URL(fileURLWithPath: "/tmp/x")))
        XCTAssertEqual(c.fileURL(repo: "org/m", revision: "refs/pr/1", path: "a b/c.json"),
                       "https://huggingface.co/org/m/resolve/refs%2Fpr%2F1/a%20b/c.json")
        XCTAssertEqual(c.fileURL(repo: "org/d", type: .dataset, path: "x"), "https://huggingface.co/datasets/org/d/resolve/main/x")
        XCTAssertEqual(HubClient.normalizeETag("W/\"abc\""), "abc")
    }

    func testConfigurationReadsHuggingFaceHubEnvironment() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("hfhome-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "hf_fromfile\n".write(to: dir.appendingPathComponent("token"), atomically: true, encoding: .utf8)
        let c = HubConfiguration.fromEnvironment(["HF_HOME": dir.path, "HF_HUB_OFFLINE": "1", "HF_ENDPOINT": "http://x/",
                                                  "HF_HUB_DOWNLOAD_TIMEOUT": "42", "HF_HUB_ETAG_TIMEOUT": "3"])
        XCTAssertEqual(c.cacheDirectory.path, dir.path + "/hub")
        XCTAssertEqual(c.token, "hf_fromfile")
        XCTAssertTrue(c.offline)
        XCTAssertEqual(c.endpoint, "http://x")
        XCTAssertEqual(c.downloadTimeout, 42)
        XCTAssertEqual(c.etagTimeout, 3)
        let d = HubConfiguration.fromEnvironment(["HOME": "/home/u", "HF_TOKEN": "hf_env", "HF_HUB_CACHE": "/c"])
        XCTAssertEqual(d.cacheDirectory.path, "/c")
        XCTAssertEqual(d.token, "hf_env")
        XCTAssertEqual(HubConfiguration.fromEnvironment(["HOME": "/home/u"]).cacheDirectory.path, "/home/u/.cache/huggingface/hub")
    }

    func testPrintingAConfigurationNeverShowsTheToken() {
        let c = HubConfiguration(cacheDirectory: URL(fileURLWithPath: "/tmp/x"), token: "hf_topsecret")
        var dumped = ""
        dump(c, to: &dumped)
        for text in ["\(c)", String(reflecting: c), dumped] {
            XCTAssertFalse(text.contains("hf_topsecret"), text)
            XCTAssertTrue(text.contains("<redacted>"), text)
        }
    }
}
