import Foundation
import XCTest
@testable import HubClient

/// Hub datasets end to end against the fake Hub: README configs, default patterns, the Parquet conversion, offline.
final class DatasetDownloadTests: FakeHubTestCase {
    static let imdbCommit = String(repeating: "9", count: 39) + "7"

    func testImdbTrainSplitFromReadmeConfigsLandsInTheDatasetCache() throws {
        let found = try client().datasetFiles(repo: "stanfordnlp/imdb", split: "train")
        XCTAssertEqual(found.repoPaths, ["plain_text/train-00000-of-00001.parquet"])
        XCTAssertFalse(found.converted)
        let folder = cacheDir.appendingPathComponent("datasets--stanfordnlp--imdb/snapshots/\(Self.imdbCommit)")
        XCTAssertEqual(found.files, [folder.appendingPathComponent("plain_text/train-00000-of-00001.parquet")])
        XCTAssertTrue(FileManager.default.fileExists(atPath: folder.appendingPathComponent("README.md").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder.appendingPathComponent("plain_text/test-00000-of-00001.parquet").path),
                       "only the asked split is downloaded")
        let offline = HubClient(configuration: configuration(offline: true))
        XCTAssertEqual(try offline.datasetFiles(repo: "stanfordnlp/imdb", split: "train"), found)
        XCTAssertThrowsError(try offline.datasetFiles(repo: "stanfordnlp/imdb", split: "test")) { e in
            guard case .offlineMissing(_, _, "the data files of split 'test'", true) = e as? HubError else { return XCTFail("\(e)") }
        }
    }

    func testUnknownSplitNamesTheSplitsTheReadmeDefines() {
        XCTAssertThrowsError(try client().datasetFiles(repo: "stanfordnlp/imdb", split: "validation")) { e in
            guard case .splitNotFound(_, "validation", "plain_text", ["train", "test"]) = e as? HubError else { return XCTFail("\(e)") }
        }
    }

    func testDefaultPatternsFindDataTrainJsonl() throws {
        let found = try client().datasetFiles(repo: "org/tiny-data", split: "train")
        XCTAssertEqual(found.repoPaths, ["data/train.jsonl"])
        XCTAssertEqual(try Data(contentsOf: found.files[0]).count, try Data(contentsOf: found.files[0].resolvingSymlinksInPath()).count)
    }

    func testRepoWithoutDataFilesUsesTheParquetConversionAlsoOffline() throws {
        let found = try client().datasetFiles(repo: "org/converted", split: "train")
        XCTAssertTrue(found.converted)
        XCTAssertEqual(found.repoPaths, ["default/train/0000.parquet"])
        XCTAssertEqual(found.commit, String(repeating: "7", count: 39) + "2")
        XCTAssertTrue(FileManager.default.fileExists(atPath: cacheDir.appendingPathComponent("datasets--org--converted/refs/refs/convert/parquet").path),
                      "the conversion's ref is cached like huggingface_hub's")
        XCTAssertEqual(try client().datasetFiles(repo: "org/converted", split: "test").repoPaths, ["default/partial-test/0000.parquet"])
        let offline = HubClient(configuration: configuration(offline: true))
        XCTAssertEqual(try offline.datasetFiles(repo: "org/converted", split: "train"), found)
    }

    func testNoDataFilesAnywhereSaysWhatWasTried() {
        XCTAssertThrowsError(try client().datasetFiles(repo: "org/empty", split: "train")) { e in
            guard case .noDataFiles(_, "main", "train", let tried) = e as? HubError else { return XCTFail("\(e)") }
            let text = "\(e)"
            XCTAssertTrue(text.contains("README.md configs") && text.contains("default patterns") && text.contains("refs/convert/parquet"), text)
            XCTAssertEqual(tried.count, 3)
        }
    }
}
