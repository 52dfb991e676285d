import Foundation
import TestSupport
import Values
import XCTest
@testable import WeightFiles

/// Reading real GGUF files written by gguf-py, against gguf-py's and transformers' own outputs.
final class GGUFTests: XCTestCase {
    let fixtures = TestSupport.packageRoot.appendingPathComponent("Tests/WeightFilesTests/Fixtures/gguf")

    func assertBitEqual(_ a: [Float], _ b: [Float], _ what: String, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, line: line)
        guard a.count == b.count else { return }
        let bad = zip(a, b).enumerated().filter { $0.element.0.bitPattern != $0.element.1.bitPattern }
        XCTAssertTrue(bad.isEmpty, "\(what): \(bad.count) of \(a.count) differ, first at \(bad.first.map { "\($0.offset): \($0.element.0) vs \($0.element.1)" } ?? "")", line: line)
    }

    func testEveryQuantTypeDequantizesBitForBitLikeGGUFPy() throws {
        let f = try GGUFFile(url: fixtures.appendingPathComponent("quant_types.gguf"))
        let expected = try SafeTensorsFile(url: fixtures.appendingPathComponent("quant_types_expected.safetensors"))
        let types: [GGMLType] = [.F32, .F16, .BF16, .Q8_0, .Q4_0, .Q4_1, .Q5_0, .Q5_1, .Q2_K, .Q3_K, .Q4_K, .Q5_K, .Q6_K, .Q8_K]
        XCTAssertEqual(Set(f.tensors.map(\.name)), Set(types.map { "t.\($0.name)" }))
        XCTAssertEqual(Set(expected.names), Set(types.map { "t.\($0.name)" }))
        for t in types {
            let name = "t.\(t.name)"
            let info = try f.info(name)
            XCTAssertEqual(info.ggmlType, t, name)
            XCTAssertEqual(info.shape, [2, 256], name)
            XCTAssertEqual(info.byteCount, 512 / t.blockLayout.elements * t.blockLayout.bytes, name)
            assertBitEqual(try f.floats(name), try expected.floats(name), name)
        }
    }

    func testEveryMetadataValueTypeReadsBack() throws {
        let f = try GGUFFile(url: fixtures.appendingPathComponent("quant_types.gguf"))
        XCTAssertEqual(f.version, 3)
        XCTAssertEqual(f.alignment, 32)
        XCTAssertEqual(f.dataStart % 32, 0)
        XCTAssertEqual(f.metadata["v.u8"], .uint8(200))
        XCTAssertEqual(f.metadata["v.i8"], .int8(-5))
        XCTAssertEqual(f.metadata["v.u16"], .uint16(60000))
        XCTAssertEqual(f.metadata["v.i16"], .int16(-30000))
        XCTAssertEqual(f.metadata["v.u32"], .uint32(4_000_000_000))
        XCTAssertEqual(f.metadata["v.i32"], .int32(-2_000_000_000))
        XCTAssertEqual(f.metadata["v.f32"], .float32(1e-5))
        XCTAssertEqual(f.double("v.f32"), 1e-5)
        XCTAssertEqual(f.metadata["v.bool"], .bool(true))
        XCTAssertEqual(f.string("v.str"), "héllo ✓")
        XCTAssertEqual(f.metadata["v.u64"], .uint64(1 << 63 + 5))
        XCTAssertNil(f.int("v.u64"), "a uint64 above Int.max has no Int view")
        XCTAssertEqual(f.int("v.i64"), -(1 << 62))
        XCTAssertEqual(f.metadata["v.f64"], .float64(0.1))
        XCTAssertEqual(f.metadata["v.nested"], .array([.array([.int32(1), .int32(2)]), .array([.int32(3)])]))
        XCTAssertEqual(f.strings("v.strs"), ["a", "", "ü"])
        XCTAssertEqual(f.doubles("v.floats"), [0.5, -1.25])
        XCTAssertNil(f.strings("v.floats"), "a float array is not a string array")
        XCTAssertNil(f.string("no.such.key"))
        XCTAssertEqual(f.string("general.architecture"), "quanttest")
    }

    func tiny() throws -> GGUFFile { try GGUFFile(url: fixtures.appendingPathComponent("tiny_llama.gguf")) }

    func expectedJSON() throws -> Value {
        try JSON.parse(String(contentsOf: fixtures.appendingPathComponent("tiny_llama_expected.json"), encoding: .utf8))
    }

    func testTinyLlamaTensorInfosAreRowMajor() throws {
        let f = try tiny()
        XCTAssertEqual(f.tensors.count, 1 + 2 * 9 + 1)
        let e = try f.info("token_embd.weight")
        XCTAssertEqual(e.ggmlType, .Q8_0)
        XCTAssertEqual(e.shape, [100, 64])
        XCTAssertEqual(try f.info("blk.1.ffn_down.weight").shape, [64, 96])
        XCTAssertEqual(try f.info("blk.0.attn_k.weight").ggmlType, .Q4_1)
        XCTAssertEqual(try f.info("output_norm.weight").ggmlType, .F32)
        XCTAssertFalse(f.hasTensor("output.weight"))
        for t in f.tensors { XCTAssertEqual(t.offset % f.alignment, 0, t.name) }
        XCTAssertThrowsError(try f.info("nope")) { XCTAssertTrue("\($0)".contains("no tensor named \"nope\"")) }
    }

    func testTinyLlamaConfigMatchesTransformersGGUFLoader() throws {
        let got = try GGUFLlama.huggingFaceConfig(try tiny())
        let want = try expectedJSON()["config"]!
        guard case .object(let g) = got, case .object(let w) = want else { return XCTFail("config is not an object") }
        XCTAssertEqual(Set(g.keys), Set(w.keys))
        for (k, wv) in w {
            if let wd = wv.doubleValue, case .double = wv {
                XCTAssertEqual(g[k]?.doubleValue, wd, k)
            } else {
                XCTAssertEqual(g[k], wv, k)
            }
        }
    }

    func testTinyLlamaTensorsMatchTransformersGGUFLoader() throws {
        let f = try tiny()
        let json = try expectedJSON()
        let expected = try SafeTensorsFile(url: fixtures.appendingPathComponent("tiny_llama_expected.safetensors"))
        let got = try GGUFLlama.huggingFaceTensors(f)
        let shapes = json["shapes"]!.objectValue!
        XCTAssertEqual(got.map(\.name).sorted(), shapes.keys.sorted())
        var checked = 0
        for t in got {
            XCTAssertEqual(t.shape, shapes[t.name]?.arrayValue?.compactMap(\.intValue), t.name)
            XCTAssertEqual(t.values.count, t.shape.reduce(1, *), t.name)
            if expected.names.contains(t.name) {
                assertBitEqual(t.values, try expected.floats(t.name), t.name)
                checked += 1
            }
        }
        XCTAssertEqual(checked, expected.names.count)
        XCTAssertTrue(expected.names.contains("model.layers.1.self_attn.k_proj.weight"))
        let q = try GGUFLlama.huggingFaceTensor(f, gguf: "blk.0.attn_q.weight")
        XCTAssertNotEqual(q.values, try f.floats("blk.0.attn_q.weight"), "q rows must be un-permuted, not copied")
        let v = try GGUFLlama.huggingFaceTensor(f, gguf: "blk.0.attn_v.weight")
        XCTAssertEqual(v.values, try f.floats("blk.0.attn_v.weight"), "v is not permuted by llama.cpp")
    }

    func testHuggingFaceNames() {
        XCTAssertEqual(GGUFLlama.huggingFaceName("token_embd.weight"), "model.embed_tokens.weight")
        XCTAssertEqual(GGUFLlama.huggingFaceName("output.weight"), "lm_head.weight")
        XCTAssertEqual(GGUFLlama.huggingFaceName("output_norm.weight"), "model.norm.weight")
        XCTAssertEqual(GGUFLlama.huggingFaceName("blk.12.attn_output.weight"), "model.layers.12.self_attn.o_proj.weight")
        XCTAssertEqual(GGUFLlama.huggingFaceName("blk.3.ffn_norm.weight"), "model.layers.3.post_attention_layernorm.weight")
        XCTAssertEqual(GGUFLlama.huggingFaceName("blk.0.attn_q.bias"), "model.layers.0.self_attn.q_proj.bias")
        XCTAssertNil(GGUFLlama.huggingFaceName("rope_freqs.weight"))
        XCTAssertNil(GGUFLlama.huggingFaceName("blk.01.attn_q.weight"))
        XCTAssertNil(GGUFLlama.huggingFaceName("blk.0.attn_qkv.weight"))
    }

    func testNonLlamaArchitectureIsRefusedByTheMapping() throws {
        let f = try GGUFFile(url: fixtures.appendingPathComponent("quant_types.gguf"))
        XCTAssertThrowsError(try GGUFLlama.huggingFaceConfig(f)) { XCTAssertTrue("\($0)".contains("\"quanttest\""), "\($0)") }
        XCTAssertThrowsError(try GGUFLlama.huggingFaceTensors(f)) { XCTAssertTrue("\($0)".contains("only \"llama\""), "\($0)") }
    }

    func testTokenizerMetadata() throws {
        let t = try GGUFLlama.tokenizerMetadata(try tiny())
        XCTAssertEqual(t.model, "gpt2")
        XCTAssertEqual(t.preTokenizer, "smollm")
        XCTAssertEqual(t.tokens.count, 100)
        XCTAssertEqual(Array(t.tokens.prefix(4)), ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "tok0"])
        XCTAssertEqual(t.merges, ["t o", "to k", "tok 1"])
        XCTAssertEqual(t.tokenTypes?.prefix(4).map { $0 }, [3, 3, 3, 1])
        XCTAssertEqual(t.bosTokenID, 1)
        XCTAssertEqual(t.eosTokenID, 2)
        XCTAssertEqual(t.paddingTokenID, 0)
        XCTAssertEqual(t.addBOS, false)
        XCTAssertNil(t.unknownTokenID)
        XCTAssertTrue(t.chatTemplate?.hasPrefix("{% for m in messages %}<|im_start|>") ?? false)
    }

    func testUnsupportedTypeNamesTensorAndType() throws {
        let url = try GGUFBytes.file(tensors: [.init(name: "w.iq", dims: [256], type: GGMLType.IQ2_XXS.rawValue, offset: 0)],
                                     data: [UInt8](repeating: 0, count: 66))
        let f = try GGUFFile(url: url)
        XCTAssertThrowsError(try f.floats("w.iq")) { e in
            XCTAssertTrue("\(e)".contains("tensor \"w.iq\" has ggml type IQ2_XXS"), "\(e)")
        }
    }

    /// The real SmolLM2-135M-Instruct.Q4_1.gguf (98 MB, not committed): set SFTRUN_SMOLLM2_GGUF to its path.
    /// Expected values come from scripts/make_gguf_fixtures.py --smollm2 (gguf-py's dequantize + transformers' un-permute).
    func testRealSmolLM2AgainstGGUFPy() throws {
        guard let path = ProcessInfo.processInfo.environment["SFTRUN_SMOLLM2_GGUF"] else {
            throw XCTSkip("set SFTRUN_SMOLLM2_GGUF to SmolLM2-135M-Instruct.Q4_1.gguf to run")
        }
        let f = try GGUFFile(url: URL(fileURLWithPath: path))
        let expectedURL = fixtures.appendingPathComponent("smollm2_expected.json")
        let exp = try JSON.parse(String(contentsOf: expectedURL, encoding: .utf8))
        XCTAssertEqual(f.tensors.count, exp["tensor_count"]?.intValue)
        XCTAssertFalse(f.hasTensor("output.weight"))
        XCTAssertEqual(try f.info("token_embd.weight").ggmlType, .Q8_0)
        XCTAssertEqual(f.tensors.filter { $0.ggmlType == .Q4_1 }.count, exp["q4_1_count"]?.intValue)
        XCTAssertEqual(f.tensors.filter { GGUFLlama.huggingFaceName($0.name) == nil }.map(\.name), [], "every tensor has a Hugging Face name")
        let config = try GGUFLlama.huggingFaceConfig(f)
        for (k, v) in exp["config"]!.objectValue! {
            XCTAssertEqual(config[k]?.doubleValue ?? -1, v.doubleValue ?? -2, k)
        }
        for (name, e) in exp["tensors"]!.objectValue! {
            let t = try GGUFLlama.huggingFaceTensor(f, gguf: name)
            XCTAssertEqual(t.name, e["hf_name"]?.stringValue, name)
            XCTAssertEqual(t.shape, e["shape"]?.arrayValue?.compactMap(\.intValue), name)
            let want = e["sample"]!.arrayValue!.map { Float($0.doubleValue!) }
            let stride = e["stride"]!.intValue!
            assertBitEqual(Swift.stride(from: 0, to: t.values.count, by: stride).map { t.values[$0] }, want, name)
            let sum = t.values.reduce(0.0) { $0 + Double($1) }
            XCTAssertEqual(sum, e["sum"]!.doubleValue!, accuracy: 1e-6 * max(1, abs(sum)), name)
        }
        let tok = try GGUFLlama.tokenizerMetadata(f)
        XCTAssertEqual(tok.tokens.count, exp["vocab"]?.intValue)
        XCTAssertEqual(tok.model, "gpt2")
        XCTAssertNotNil(tok.chatTemplate)
    }
}
