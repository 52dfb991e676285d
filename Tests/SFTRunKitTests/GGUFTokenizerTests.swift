import Foundation
import TestSupport
import Tokenization
import Values
import WeightFiles
import XCTest
@testable import SFTRunKit

/// Tokenizers rebuilt from real vocab-only GGUFs of llama.cpp's tokenizer tests
/// (scripts/fetch_llama_cpp_vocabs.py): every input of the `.inp` file encodes to the ids transformers' GGUF
/// converter gives, and to llama.cpp's `.out` ids (made by HF tokenizers from the original tokenizer.json).
///
/// The SentencePiece file differs from `.out` on inputs that start with a space, and only there: `.out` came from
/// Llama-2's tokenizer.json, whose legacy normalizer always prepends ▁ (" Hello" → "▁▁Hello" → 29871 15043),
/// while transformers' converter (LlamaTokenizer, Metaspace with prepend_scheme "first") prepends ▁ only when
/// the text does not already start with one (" Hello" → "▁Hello" → 15043). sftrun follows the converter, so a
/// GGUF gives the same ids in sftrun and in `from_pretrained(gguf_file=)`.
final class GGUFTokenizerTests: XCTestCase {
    static let folder = TestSupport.packageRoot.appendingPathComponent("Tests/SFTRunKitTests/Fixtures/llama-cpp-vocab")

    func tokenizer(_ name: String) throws -> Tokenizer {
        let gguf = try GGUFFile(url: Self.folder.appendingPathComponent("ggml-vocab-\(name).gguf"))
        let (json, config) = try GGUFTokenizer.files(gguf)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sftrun-gguf-tok-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(json.utf8).write(to: dir.appendingPathComponent("tokenizer.json"))
        try Data(config.utf8).write(to: dir.appendingPathComponent("tokenizer_config.json"))
        return try Tokenizer.load(directory: dir)
    }

    func cases(_ name: String) throws -> (inputs: [String], out: [[Int]], transformers: [[Int]]) {
        func text(_ ext: String) throws -> String {
            try String(contentsOf: Self.folder.appendingPathComponent("ggml-vocab-\(name).gguf.\(ext)"), encoding: .utf8)
        }
        let inputs = try text("inp").components(separatedBy: "\n__ggml_vocab_test__\n")
        let out = try text("out").components(separatedBy: "\n").prefix(inputs.count).map { $0.split(separator: " ").compactMap { Int($0) } }
        let all = try JSON.parse(bytes: [UInt8](try Data(contentsOf: Self.folder.appendingPathComponent("transformers-ids.json"))))
        let hf = try XCTUnwrap(all[name]?.arrayValue).map { $0.arrayValue?.compactMap { $0.intValue } ?? [] }
        XCTAssertEqual(out.count, inputs.count)
        XCTAssertEqual(hf.count, inputs.count)
        return (inputs, Array(out), hf)
    }

    func testSentencePieceVocabularyMatchesTheConverterAndLlamaCpp() throws {
        let tok = try tokenizer("llama-spm")
        let (inputs, out, hf) = try cases("llama-spm")
        var differFromOut: [Int] = []
        for (i, text) in inputs.enumerated() {
            let got = tok.encode(text, addSpecialTokens: false).ids
            XCTAssertEqual(got, hf[i], "case \(i) \(text.debugDescription)")
            if got != out[i] { differFromOut.append(i) }
        }
        XCTAssertTrue(differFromOut.allSatisfy { inputs[$0].hasPrefix(" ") }, "only leading-space inputs differ from .out: \(differFromOut)")
        XCTAssertEqual(differFromOut.count, 15)
        XCTAssertEqual(tok.encode("Hello world").ids, [1, 15043, 3186], "BOS from the missing add_bos_token flag")
        XCTAssertEqual(tok.decode([1, 15043, 3186, 29871, 243, 162, 169, 156], skipSpecialTokens: true), "Hello world 🦙")
        XCTAssertEqual(tok.encode("\u{3AC}", addSpecialTokens: false).ids, [29871, 30216], "U+03AC keeps its id, not that of U+1F71 (31042)")
    }

    func testByteLevelVocabularyMatchesLlamaCpp() throws {
        let tok = try tokenizer("gpt-2")
        let (inputs, out, hf) = try cases("gpt-2")
        for (i, text) in inputs.enumerated() {
            let got = tok.encode(text, addSpecialTokens: false).ids
            XCTAssertEqual(got, out[i], "case \(i) \(text.debugDescription)")
            XCTAssertEqual(got, hf[i], "case \(i) \(text.debugDescription)")
        }
    }

    /// transformers' generate_merges on a hand-made vocabulary: splits into known pieces, best score first, then
    /// the longer left piece.
    func testMergesFromScores() {
        let tokens = ["a", "b", "c", "ab", "bc", "abc", "x y"]
        let scores: [Double] = [0, 0, 0, -1, -2, -3, -4]
        let merges = GGUFTokenizer.mergesFromScores(tokens: tokens, scores: scores)
        XCTAssertEqual(merges.map { "\($0.0)|\($0.1)" }, ["a|b", "b|c", "ab|c", "a|bc"])
    }
}
