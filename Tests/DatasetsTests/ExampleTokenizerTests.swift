import XCTest
import Values
@testable import Datasets

/// A byte-level toy tokenizer: one id per UTF-8 byte, `</s>` as a special token (id 1000) and an optional BOS; and,
/// to exercise prompt/completion merging, the pair "er" becomes one token (id 2000).
struct ToyEncoder: TokenEncoder {
    var bos: Int? = nil
    var eosToken: String? = "</s>"
    func encodeWithOffsets(_ text: String, addSpecialTokens: Bool) -> (ids: [Int], offsets: [Range<Int>]) {
        var ids: [Int] = [], offsets: [Range<Int>] = []
        if addSpecialTokens, let bos { ids.append(bos); offsets.append(0..<0) }
        let b = Array(text.utf8)
        var i = 0
        while i < b.count {
            if b[i...].starts(with: Array("</s>".utf8)) { ids.append(1000); offsets.append(i..<i + 4); i += 4; continue }
            if b[i...].starts(with: Array("er".utf8)) { ids.append(2000); offsets.append(i..<i + 2); i += 2; continue }
            ids.append(Int(b[i])); offsets.append(i..<i + 1); i += 1
        }
        return (ids, offsets)
    }
}

final class ExampleTokenizerTests: XCTestCase {
    let ignore = TokenizedExample.ignoreIndex

    func testTextGetsEOSOnceThenTruncationKeepsTheStart() throws {
        let t = ExampleTokenizer(encoder: ToyEncoder(bos: 1), maxLength: 4)
        XCTAssertEqual(try t.tokenize(.text("ab")), TokenizedExample(inputIDs: [1, 97, 98, 1000], labels: [1, 97, 98, 1000]))
        XCTAssertEqual(try t.tokenize(.text("ab</s>")).inputIDs, [1, 97, 98, 1000], "no second EOS")
        XCTAssertEqual(try t.tokenize(.text("abcd")).inputIDs, [1, 97, 98, 99], "truncation after EOS: the EOS is lost")
    }

    func testCompletionLossStartsAfterTheLongestCommonPrefix() throws {
        let t = ExampleTokenizer(encoder: ToyEncoder(), maxLength: nil)
        // "inte" + "rnational": "e"+"r" merge into one token, so the prompt's last token is re-tokenized.
        let e = try t.tokenize(.promptCompletion(prompt: "inte", completion: "rn"))
        XCTAssertEqual(e.inputIDs, [105, 110, 116, 2000, 110, 1000])
        XCTAssertEqual(e.labels, [ignore, ignore, ignore, 2000, 110, 1000])
        let off = ExampleTokenizer(encoder: ToyEncoder(), maxLength: nil, completionOnlyLoss: false)
        XCTAssertEqual(try off.tokenize(.promptCompletion(prompt: "a", completion: "b")).labels, [97, 98, 1000])
    }

    func testAssistantOnlyLossLabelsTokensOverlappingAssistantSpans() throws {
        let render: @Sendable ([Value], Bool) throws -> (text: String, assistantSpans: [Range<Int>]) = { _, _ in ("u:hi a:yo</s>", [7..<13]) }
        let t = ExampleTokenizer(encoder: ToyEncoder(), maxLength: nil, assistantOnlyLoss: true, renderChat: render)
        let e = try t.tokenize(.conversation([["role": "user", "content": "hi"]]))
        XCTAssertEqual(e.labels, Array(repeating: ignore, count: 7) + [121, 111, 1000])
    }

    func testResponseAndInstructionTemplatesMarkEachAnswer() throws {
        let t = ExampleTokenizer(encoder: ToyEncoder(), maxLength: nil, addEOS: false, responseTemplate: "A:", instructionTemplate: "H:")
        let e = try t.tokenize(.text("H:x A:y H:z A:w"))
        let labelled = zip(e.inputIDs, e.labels).filter { $0.1 != ignore }.map { String(UnicodeScalar(UInt8($0.0))) }.joined()
        XCTAssertEqual(labelled, "y w")
        let missing = ExampleTokenizer(encoder: ToyEncoder(), maxLength: nil, responseTemplate: "### Answer:")
        XCTAssertThrowsError(try missing.tokenize(.text("no template here"))) { XCTAssertEqual($0 as? ExampleTokenizer.TemplateNotFound, .init(template: "### Answer:")) }
    }

    func testPaddingIsMaskedByAttentionNotByPadID() {
        // pad id == EOS id: the real EOS keeps its label.
        let batch = Collator.pad([TokenizedExample(inputIDs: [5, 1000], labels: [5, 1000]), TokenizedExample(inputIDs: [7], labels: [7])], padID: 1000, padToMultipleOf: 4)
        XCTAssertEqual(batch.length, 4)
        XCTAssertEqual(batch.inputIDs, [5, 1000, 1000, 1000, 7, 1000, 1000, 1000])
        XCTAssertEqual(batch.labels, [5, 1000, ignore, ignore, 7, ignore, ignore, ignore])
        XCTAssertEqual(batch.attentionMask, [1, 1, 0, 0, 1, 0, 0, 0])
        XCTAssertEqual(batch.lossTokenCount, 1)
    }

    func testPackedBatchesRestartPositionsAndSeparateSegments() {
        let rows = Packer.pack([[[1, 2, 3], [1, 2, 3]], [[4, 5], [4, 5]]], seqLength: 8, strategy: .bfd)
        let batch = Collator.packed(rows, padID: 0)
        XCTAssertEqual(batch.inputIDs, [1, 2, 3, 4, 5])
        XCTAssertEqual(batch.positionIDs, [0, 1, 2, 0, 1])
        XCTAssertEqual(batch.segmentIDs, [0, 0, 0, 1, 1])
        XCTAssertEqual(batch.labels, [1, 2, 3, ignore, 5], "no loss for predicting across the example boundary")
    }
}
