import XCTest
import Values
import TestSupport
import Datasets
import Tokenization
@testable import SFTRunKit

/// The whole row → ids/labels path against TRL 1.16's own SFTTrainer preparation (scripts/make_pipeline_fixtures.py).
final class PipelineParityTests: XCTestCase {
    func testTextAndPromptCompletionRowsMatchTRL() throws {
        let root = TestSupport.packageRoot
        let fixture = try JSON.parse(String(contentsOf: root.appendingPathComponent("Tests/SFTRunKitTests/Fixtures/trl_pipeline.json"), encoding: .utf8))
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: root.appendingPathComponent("Tests/TokenizationTests/Fixtures/smollm2/tokenizer.json"), to: dir.appendingPathComponent("tokenizer.json"))
        try #"{"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>", "unk_token": "<|endoftext|>"}"#
            .write(to: dir.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        let tokenizer = try Tokenizer.load(directory: dir)
        let pipeline = ExampleTokenizer(encoder: tokenizer, maxLength: fixture["max_length"]!.intValue!)
        let cases = fixture["cases"]!.arrayValue!
        XCTAssertEqual(cases.count, 7)
        for (i, c) in cases.enumerated() {
            let format = DatasetFormat(rawValue: c["format"]!.stringValue!)!
            let row = Row(columns: c["row"]!.objectValue!, location: RowLocation(file: "fixture", line: i + 1, row: i))
            let example = try pipeline.tokenize(try ExampleFormatter(format: format).format(row))
            XCTAssertEqual(example.inputIDs, c["input_ids"]!.arrayValue!.map { $0.intValue! }, "case \(i) ids")
            XCTAssertEqual(example.labels, c["labels"]!.arrayValue!.map { $0.intValue! }, "case \(i) labels")
        }
    }
}
