import Foundation
import TestSupport
import XCTest
@testable import HubClient

/// How a Hub dataset's split files are chosen, against `datasets`' rules (`data_files.py`), on file listings.
final class DatasetDataFilesTests: XCTestCase {
    func select(_ paths: [String], readme: String? = nil, config: String? = nil, split: String = "train") throws -> DatasetDataFiles.Resolution {
        try DatasetDataFiles.select(paths: paths, readme: readme, repo: "org/ds", revision: "main", config: config, split: split)
    }

    func testGlobKeepsStarInsideOneSegmentAndDoubleStarAcrossSegments() {
        XCTAssertTrue(DatasetDataFiles.glob("plain_text/train-00000-of-00001.parquet", "plain_text/train-*"))
        XCTAssertFalse(DatasetDataFiles.glob("plain_text/sub/train-0.parquet", "plain_text/train-*"))
        XCTAssertFalse(DatasetDataFiles.glob("a/b.csv", "*.csv"))
        XCTAssertTrue(DatasetDataFiles.glob("train.csv", "**/train[-._ 0-9]*"))
        XCTAssertTrue(DatasetDataFiles.glob("data/x/train_3.csv", "**/train[-._ 0-9]*"))
        XCTAssertFalse(DatasetDataFiles.glob("data/trainer.csv", "**/train[-._ 0-9]*"))
        XCTAssertTrue(DatasetDataFiles.glob("data/train/shard_0.csv", "**/train/**"))
        XCTAssertFalse(DatasetDataFiles.glob(".hidden/train.csv", "**/train[-._ 0-9]*"), "hidden folders only when asked for")
    }

    func testDefaultPatternsFollowDatasetsPriority() throws {
        XCTAssertEqual(try select(["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet", "data/test-00000-of-00001.parquet", "README.md"]),
                       .files(["data/train-00000-of-00002.parquet", "data/train-00001-of-00002.parquet"]))
        XCTAssertEqual(DatasetDataFiles.defaultSplits(in: ["data/test-00000-of-00001.parquet", "data/train-00000-of-00001.parquet", "data/extra-00000-of-00001.parquet"])?.map(\.split),
                       ["train", "test", "extra"])
        XCTAssertEqual(try select(["train.csv", "test.csv", "README.md"], split: "test"), .files(["test.csv"]))
        XCTAssertEqual(try select(["data/train/b.jsonl", "data/train/a.jsonl", "data/valid/c.jsonl"]), .files(["data/train/a.jsonl", "data/train/b.jsonl"]))
        XCTAssertEqual(try select(["data/valid/c.jsonl", "data/train/a.jsonl"], split: "validation"), .files(["data/valid/c.jsonl"]))
        XCTAssertEqual(try select(["my-train-0.json", "my-dev-0.json"], split: "validation"), .files(["my-dev-0.json"]))
        XCTAssertEqual(try select(["reviews.csv", "README.md", ".gitattributes"]), .files(["reviews.csv"]), "everything is train")
        guard case .parquetConversion(let tried) = try select(["README.md", "loader.py"]) else { return XCTFail("no data files → conversion") }
        XCTAssertTrue(tried.joined().contains("default patterns"), "\(tried)")
    }

    func testMissingSplitListsTheSplitsFound() {
        XCTAssertThrowsError(try select(["data/train.csv", "data/test.csv"], split: "validation")) { e in
            guard case .splitNotFound(_, "validation", nil, let available) = e as? HubError else { return XCTFail("\(e)") }
            XCTAssertEqual(available, ["train", "test"])
            XCTAssertTrue("\(e)".contains("it has: train, test"), "\(e)")
        }
    }

    func testReadmeConfigsOfTheImdbFixture() throws {
        let readme = try String(contentsOf: TestSupport.packageRoot.appendingPathComponent("Tests/HubClientTests/Fixtures/hub/stanfordnlp--imdb/README.md"), encoding: .utf8)
        let configs = try XCTUnwrap(try DatasetDataFiles.readmeConfigs(readme))
        XCTAssertEqual(configs.map(\.name), ["plain_text"])
        XCTAssertEqual(configs[0].splits.map(\.split), ["train", "test"])
        XCTAssertEqual(configs[0].splits[0].patterns, ["plain_text/train-*"])
        let paths = ["README.md", "plain_text/train-00000-of-00001.parquet", "plain_text/test-00000-of-00001.parquet", "plain_text/unsupervised-00000-of-00001.parquet"]
        XCTAssertEqual(try select(paths, readme: readme), .files(["plain_text/train-00000-of-00001.parquet"]))
        XCTAssertEqual(try select(paths, readme: readme, config: "plain_text", split: "test"), .files(["plain_text/test-00000-of-00001.parquet"]))
        XCTAssertThrowsError(try select(paths, readme: readme, split: "unsupervised")) { e in
            guard case .splitNotFound(_, _, "plain_text", ["train", "test"]) = e as? HubError else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try select(paths, readme: readme, config: "nope")) { e in
            guard case .configNotFound(_, "nope", ["plain_text"]) = e as? HubError else { return XCTFail("\(e)") }
        }
    }

    func testReadmeConfigChoiceDataDirAndStringDataFiles() throws {
        let readme = """
        ---
        configs:
        - config_name: en
          data_files: en/*.jsonl
        - config_name: fr
          data_dir: fr
        ---
        text
        """
        let paths = ["en/a.jsonl", "fr/train.jsonl", "fr/test.jsonl"]
        XCTAssertThrowsError(try select(paths, readme: readme)) { e in
            guard case .configNotFound(_, nil, ["en", "fr"]) = e as? HubError else { return XCTFail("\(e)") }
            XCTAssertTrue("\(e)".contains("data.train.name"), "\(e)")
        }
        XCTAssertEqual(try select(paths, readme: readme, config: "en"), .files(["en/a.jsonl"]))
        XCTAssertEqual(try select(paths, readme: readme, config: "fr", split: "test"), .files(["fr/test.jsonl"]))
        XCTAssertThrowsError(try select(["other.jsonl"], readme: readme, config: "en")) { e in
            guard case .noDataFiles(_, _, _, let tried) = e as? HubError else { return XCTFail("\(e)") }
            XCTAssertTrue(tried.joined().contains("en/*.jsonl"), "\(tried)")
        }
    }

    func testUserDataFilesOverrideDiscovery() throws {
        XCTAssertEqual(try DatasetDataFiles.select(paths: ["a/x.csv", "b/y.csv"], readme: nil, repo: "r", revision: "main", config: nil,
                                                   split: "train", dataFiles: ["b/*.csv"]), .files(["b/y.csv"]))
    }

    func testParquetConversionLayoutWithPartialSplits() throws {
        let paths = ["plain_text/train/0000.parquet", "plain_text/train/0001.parquet", "plain_text/partial-unsupervised/0000.parquet"]
        XCTAssertEqual(try DatasetDataFiles.selectConverted(paths: paths, repo: "r", config: nil, split: "train"),
                       ["plain_text/train/0000.parquet", "plain_text/train/0001.parquet"])
        XCTAssertEqual(try DatasetDataFiles.selectConverted(paths: paths, repo: "r", config: nil, split: "unsupervised"),
                       ["plain_text/partial-unsupervised/0000.parquet"])
        XCTAssertThrowsError(try DatasetDataFiles.selectConverted(paths: paths, repo: "r", config: nil, split: "test")) { e in
            guard case .splitNotFound(_, "test", "plain_text", ["train", "unsupervised"]) = e as? HubError else { return XCTFail("\(e)") }
        }
        XCTAssertThrowsError(try DatasetDataFiles.selectConverted(paths: paths + ["other/train/0000.parquet"], repo: "r", config: nil, split: "train")) { e in
            guard case .configNotFound(_, nil, ["plain_text", "other"]) = e as? HubError else { return XCTFail("\(e)") }
        }
    }

    func testGitBlobSha1MatchesGit() {
        // `printf 'hello\n' | git hash-object --stdin` and `git hash-object /dev/null`.
        XCTAssertEqual(GitBlobHasher.hex(Array("hello\n".utf8)), "ce013625030ba8dba906f756967f9e9ca394464a")
        XCTAssertEqual(GitBlobHasher.hex([]), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391")
        var sha = SHA1()
        sha.update(Array(String(repeating: "a", count: 1_000_000).utf8))
        XCTAssertEqual(sha.hexDigest(), "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }
}
