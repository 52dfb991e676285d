import Foundation
import TestSupport
import Values
import XCTest
@testable import Tokenization

/// Parity with the `tokenizers` library: fixtures made by scripts/make_tokenizer_fixtures.py (tokenizers 0.23.3).
final class TokenizerParityTests: XCTestCase {
    static func dir(_ name: String) -> URL {
        TestSupport.packageRoot.appendingPathComponent("Tests/TokenizationTests/Fixtures/\(name)")
    }

    struct Report { var total = 0, ids = 0, idsNoSpecial = 0, offsets = 0, mask = 0, decode = 0, decodeSkip = 0, pairs = 0, pairsOK = 0 }

    func check(_ name: String, file: StaticString = #filePath, line: UInt = #line) throws -> Report {
        if !FileManager.default.fileExists(atPath: Self.dir(name).appendingPathComponent("tokenizer.json").path),
           !FileManager.default.fileExists(atPath: Self.dir(name).appendingPathComponent("vocab.json").path) {
            throw XCTSkip("\(name)/tokenizer.json is not committed (too large); run scripts/make_tokenizer_fixtures.py to build it")
        }
        let tok = try Tokenizer.load(directory: Self.dir(name))
        let exp = try JSON.parse(bytes: [UInt8](Data(contentsOf: Self.dir(name).appendingPathComponent("expected.json"))))
        XCTAssertEqual(tok.vocabSize, exp["vocab_size"]?.intValue, "\(name) vocab size", file: file, line: line)
        var r = Report()
        let cases = exp["cases"]?.arrayValue ?? []
        XCTAssertGreaterThan(cases.count, 50)
        for c in cases {
            let text = c["text"]!.stringValue!
            let ids = (c["ids"]?.arrayValue ?? []).compactMap(\.intValue)
            let ids0 = (c["ids_no_special"]?.arrayValue ?? []).compactMap(\.intValue)
            let offs = (c["offsets_no_special"]?.arrayValue ?? []).map { $0[0]!.intValue!..<$0[1]!.intValue! }
            let mask = (c["special_mask"]?.arrayValue ?? []).map { $0.intValue == 1 }
            let e1 = tok.encode(text), e0 = tok.encode(text, addSpecialTokens: false)
            r.total += 1
            if e1.ids == ids { r.ids += 1 } else { XCTFail("\(name) ids differ for \(text.debugDescription): \(e1.ids) vs \(ids)", file: file, line: line) }
            if e0.ids == ids0 { r.idsNoSpecial += 1 } else { XCTFail("\(name) ids (no special) differ for \(text.debugDescription)", file: file, line: line) }
            if e0.offsets == offs { r.offsets += 1 } else { XCTFail("\(name) offsets differ for \(text.debugDescription): \(e0.offsets) vs \(offs)", file: file, line: line) }
            if e1.specialTokensMask == mask { r.mask += 1 } else { XCTFail("\(name) special mask differs for \(text.debugDescription)", file: file, line: line) }
            if tok.decode(ids) == c["decode"]?.stringValue { r.decode += 1 } else { XCTFail("\(name) decode differs for \(text.debugDescription): \(tok.decode(ids).debugDescription) vs \(c["decode"]!.stringValue!.debugDescription)", file: file, line: line) }
            if tok.decode(ids, skipSpecialTokens: true) == c["decode_skip"]?.stringValue { r.decodeSkip += 1 } else { XCTFail("\(name) decode(skip) differs for \(text.debugDescription)", file: file, line: line) }
        }
        for p in exp["pairs"]?.arrayValue ?? [] {
            let a = p["a"]!.stringValue!, b = p["b"]!.stringValue!
            let e = tok.encode(a, pair: b), e0 = tok.encode(a, pair: b, addSpecialTokens: false)
            let want = Encoding(ids: (p["ids"]?.arrayValue ?? []).compactMap(\.intValue),
                                offsets: (p["offsets"]?.arrayValue ?? []).map { $0[0]!.intValue!..<$0[1]!.intValue! },
                                specialTokensMask: (p["special_mask"]?.arrayValue ?? []).map { $0.intValue == 1 },
                                typeIds: (p["type_ids"]?.arrayValue ?? []).compactMap(\.intValue))
            r.pairs += 1
            let ok0 = e0.ids == (p["ids_no_special"]?.arrayValue ?? []).compactMap(\.intValue) && e0.typeIds == (p["type_ids_no_special"]?.arrayValue ?? []).compactMap(\.intValue)
            if e == want && ok0 { r.pairsOK += 1 } else { XCTFail("\(name) pair (\(a.debugDescription), \(b.debugDescription)) differs: \(e) vs \(want); no special: \(e0.ids) \(e0.typeIds)", file: file, line: line) }
        }
        print("PARITY \(name): pairs \(r.pairsOK)/\(r.pairs) ids \(r.ids)/\(r.total) ids_no_special \(r.idsNoSpecial)/\(r.total) offsets \(r.offsets)/\(r.total) mask \(r.mask)/\(r.total) decode \(r.decode)/\(r.total) decode_skip \(r.decodeSkip)/\(r.total)")
        return r
    }

    func testSmolLM2IdsAndDecodeMatchTokenizersOnTheHardCorpus() throws { _ = try check("smollm2") }
    func testLlama3StyleSplitThenByteLevelMatchesTokenizers() throws { _ = try check("llama3_small") }
    func testMetaspaceNormalizerWithByteFallbackMatchesTokenizers() throws { _ = try check("metaspace_small") }
    func testMetaspacePreTokenizerPrependFirstMatchesTokenizers() throws { _ = try check("metaspace_first") }

    func testSplitRemovedDropsTheDelimiter() throws { _ = try check("split_removed") }
    func testSplitMergedWithPreviousMatchesTokenizers() throws { _ = try check("split_prev") }
    func testSplitMergedWithNextMatchesTokenizers() throws { _ = try check("split_next") }
    func testSplitContiguousMatchesTokenizers() throws { _ = try check("split_contig") }
    func testSplitInvertMatchesTokenizers() throws { _ = try check("split_invert") }
    func testNFKCLowercaseDigitRunsAndWhitespaceMatchTokenizers() throws { _ = try check("digits_runs_ws") }
    func testNFDRegexReplaceWhitespaceSplitAndPunctuationMatchTokenizers() throws { _ = try check("punct_wssplit") }

    func testByteLevelPostProcessorTrimsSpacesFromOffsets() throws { _ = try check("bytelevel_trim") }

    func testTrainedUnigramWithMetaspaceMatchesTokenizers() throws { _ = try check("unigram_small") }
    func testUnigramByteFallbackMatchesTokenizers() throws { _ = try check("unigram_bytefallback") }
    func testSentencePieceUnigramWithPrecompiledCharsMapMatchesTokenizers() throws { _ = try check("spm_precompiled") }
    func testSentencePieceFullNmtNfkcCharsMapMatchesTokenizers() throws { _ = try check("spm_nmt_nfkc") }
    func testWordPieceUncasedBertNormalizerAndPairsMatchTokenizers() throws { _ = try check("wordpiece_uncased") }
    func testWordPieceCasedMatchesTokenizers() throws { _ = try check("wordpiece_cased") }
    func testRobertaProcessingPairsAndTrimmedOffsetsMatchTokenizers() throws { _ = try check("roberta_small") }
    func testRealGPT2TokenizerMatchesTokenizers() throws { _ = try check("gpt2") }
    func testRealMistral7BTokenizerMatchesTokenizers() throws { _ = try check("mistral") }

    func testPairEncodingOfBertGivesSegmentTypeIds() throws {
        let tok = try Tokenizer.load(directory: Self.dir("wordpiece_uncased"))
        let e = tok.encode("hello", pair: "world")
        XCTAssertEqual(e.ids.first, tok.tokenToId("[CLS]"))
        XCTAssertEqual(e.ids.filter { $0 == tok.tokenToId("[SEP]") }.count, 2)
        XCTAssertEqual(e.typeIds.first, 0)
        XCTAssertEqual(e.typeIds.last, 1)
        XCTAssertEqual(e.typeIds.count, e.ids.count)
    }
    func testSlowGPT2VocabAndMergesFilesMatchTokenizers() throws { _ = try check("slow_gpt2") }

    func testNormalizedAddedTokensMatchAfterNFKCAndLowercase() throws { _ = try check("added_norm_lower") }
    func testNormalizedAddedTokensMatchAfterLlamaPrependAndReplace() throws { _ = try check("added_norm_llama") }
    func testNormalizedAddedTokensStripWhitespaceInTheNormalizedText() throws { _ = try check("added_norm_strip") }

    func testNormalizedAddedTokenIsFoundOnlyInTheNormalizedText() throws {
        let tok = try Tokenizer.load(directory: Self.dir("added_norm_lower"))
        let hello = try XCTUnwrap(tok.tokenToId("HELLO"))
        XCTAssertEqual(tok.encode("HeLLo", addSpecialTokens: false).ids, [hello])
        XCTAssertEqual(tok.idToToken(hello), "hello", "tokenizers reports (and decodes) the normalized form")
        let eot = try XCTUnwrap(tok.tokenToId("<|endoftext|>"))
        XCTAssertFalse(tok.encode("HEL<|endoftext|>LO", addSpecialTokens: false).ids.contains(hello), "a non-normalized token cuts first")
        XCTAssertTrue(tok.encode("HEL<|endoftext|>LO", addSpecialTokens: false).ids.contains(eot))
    }

    /// transformers' `AutoTokenizer` on the OPT-style slow files (vocab.json + merges.txt, no tokenizer.json) in
    /// HubClientTests' fixture: `</s>` prepended as BOS, `</s>`/`<pad>` split out as special tokens.
    func testOPTSlowTokenizerFilesMatchTransformers() throws {
        let folder = TestSupport.packageRoot.appendingPathComponent("Tests/HubClientTests/Fixtures/hub/facebook--opt-350m")
        let tok = try Tokenizer.load(directory: folder)
        let exp = try JSON.parse(bytes: [UInt8](Data(contentsOf: Self.dir("opt_slow").appendingPathComponent("expected.json"))))
        XCTAssertEqual(tok.vocabSize, exp["vocab_size"]?.intValue)
        XCTAssertEqual(tok.bosTokenId, 2)
        let cases = exp["cases"]?.arrayValue ?? []
        XCTAssertGreaterThan(cases.count, 50)
        var ok = 0
        for c in cases {
            let text = try XCTUnwrap(c["text"]?.stringValue)
            let ids = (c["ids"]?.arrayValue ?? []).compactMap(\.intValue), ids0 = (c["ids_no_special"]?.arrayValue ?? []).compactMap(\.intValue)
            let e1 = tok.encode(text).ids, e0 = tok.encode(text, addSpecialTokens: false).ids
            XCTAssertEqual(e1, ids, "ids for \(text.debugDescription)")
            XCTAssertEqual(e0, ids0, "ids (no special) for \(text.debugDescription)")
            XCTAssertEqual(tok.decode(ids), c["decode"]?.stringValue, "decode of \(text.debugDescription)")
            XCTAssertEqual(tok.decode(ids, skipSpecialTokens: true), c["decode_skip"]?.stringValue, "decode (skip) of \(text.debugDescription)")
            if e1 == ids && e0 == ids0 { ok += 1 }
        }
        XCTAssertEqual(tok.encode("a", pair: "b").ids.filter { $0 == 2 }.count, 2, "a pair gets </s> before each sequence")
        print("PARITY opt_slow: ids \(ok)/\(cases.count)")
    }

    func testVeryLongInputRoundTripsThroughByteLevel() throws {
        let tok = try Tokenizer.load(directory: Self.dir("smollm2"))
        let text = String(repeating: "word ", count: 20_000) + String(repeating: " ", count: 50_000) + String(repeating: "ab", count: 5_000)
        let start = Date()
        let enc = tok.encode(text, addSpecialTokens: false)
        XCTAssertEqual(tok.decode(enc.ids), text)
        XCTAssertEqual(enc.offsets.last?.upperBound, text.utf8.count)
        XCTAssertLessThan(Date().timeIntervalSince(start), 20, "BPE merging must stay O(n log n) on long words")
    }

    func testBatchEncodingEqualsSequentialEncoding() throws {
        let tok = try Tokenizer.load(directory: Self.dir("smollm2"))
        let texts = (0..<64).map { "line \($0): héllo wörld 😀 \($0 * 37)" }
        XCTAssertEqual(tok.encodeBatch(texts), texts.map { tok.encode($0) })
    }

    func testSpecialTokenPropertiesComeFromTheConfig() throws {
        let tok = try Tokenizer.load(directory: Self.dir("smollm2"))
        XCTAssertEqual(tok.bosToken, "<|im_start|>")
        XCTAssertEqual(tok.bosTokenId, 1)
        XCTAssertEqual(tok.eosTokenId, 2)
        XCTAssertEqual(tok.padTokenId, 2)
        XCTAssertEqual(tok.tokenToId("<|endoftext|>"), 0)
        XCTAssertEqual(tok.idToToken(2), "<|im_end|>")
        XCTAssertNotNil(tok.chatTemplate)
    }

    func testAddingSpecialTokensAppendsNewIdsAndSplitsThemOut() throws {
        let tok = try Tokenizer.load(directory: Self.dir("llama3_small"))
        let n = tok.vocabSize
        let t2 = tok.addingSpecialTokens(["<|pad|>", "<|im_end|>"])
        XCTAssertEqual(t2.vocabSize, n + 1)
        XCTAssertEqual(t2.tokenToId("<|pad|>"), n)
        XCTAssertEqual(t2.encode("a<|pad|>b", addSpecialTokens: false).ids.filter { $0 == n }.count, 1)
        XCTAssertEqual(t2.decode(t2.encode("a<|pad|>b").ids, skipSpecialTokens: true), "ab")
    }

    func testMissingTokenizerJSONNamesTheFile() {
        XCTAssertThrowsError(try Tokenizer.load(directory: URL(fileURLWithPath: "/nonexistent/model"))) { e in
            XCTAssertTrue("\(e)".contains("tokenizer.json"), "\(e)")
        }
    }

    func testMalformedJSONIsAClearError() throws {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("tok-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        try Data("{\"model\": ".utf8).write(to: d.appendingPathComponent("tokenizer.json"))
        XCTAssertThrowsError(try Tokenizer.load(directory: d)) { e in XCTAssertTrue("\(e)".contains("not valid JSON"), "\(e)") }
    }

    func testUnknownModelTypeListsSupportedOnes() {
        let j: Value = ["model": ["type": "Mystery", "vocab": []]]
        XCTAssertThrowsError(try Tokenizer(tokenizerJSON: j, config: nil)) { e in XCTAssertTrue("\(e)".contains("supported: BPE"), "\(e)") }
    }

    func testTruncatedPrecompiledCharsMapIsAClearError() {
        let j: Value = ["model": ["type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0]]],
                        "normalizer": ["type": "Precompiled", "precompiled_charsmap": .string(Data([9, 0, 0, 0, 1]).base64EncodedString())]]
        XCTAssertThrowsError(try Tokenizer(tokenizerJSON: j, config: nil)) { e in XCTAssertTrue("\(e)".contains("precompiled_charsmap"), "\(e)") }
    }

    func testUnigramUnkIdOutsideTheVocabIsAClearError() {
        let j: Value = ["model": ["type": "Unigram", "unk_id": 5, "vocab": [["<unk>", 0.0], ["a", -1.0]]]]
        XCTAssertThrowsError(try Tokenizer(tokenizerJSON: j, config: nil)) { e in XCTAssertTrue("\(e)".contains("unk_id 5"), "\(e)") }
    }

    func testUnigramPrefersTheBestScoringPathAndFusesUnknowns() throws {
        // tokenizers' own doc example: "abcdacdxx" -> abcd, a, cd, xx (the two unknown x fused into one <unk>).
        let vocab: Value = [["<unk>", 0.0], ["a", 0.0], ["b", 0.0], ["c", 0.0], ["d", 0.0], ["cd", 1.0], ["ab", 2.0], ["abc", 5.0], ["abcd", 10.0]]
        let tok = try Tokenizer(tokenizerJSON: ["model": ["type": "Unigram", "unk_id": 0, "vocab": vocab]], config: nil)
        let e = tok.encode("abcdacdxx")
        XCTAssertEqual(e.ids, [8, 1, 5, 0])
        XCTAssertEqual(e.offsets, [0..<4, 4..<5, 5..<7, 7..<9])
    }

    func testUnknownPreTokenizerListsSupportedOnes() {
        let j: Value = ["model": ["type": "BPE", "vocab": ["a": 0], "merges": []], "pre_tokenizer": ["type": "Mystery"]]
        XCTAssertThrowsError(try Tokenizer(tokenizerJSON: j, config: nil)) { e in XCTAssertTrue("\(e)".contains("ByteLevel, Split"), "\(e)") }
    }
}
