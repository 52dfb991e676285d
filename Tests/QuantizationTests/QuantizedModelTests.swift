import Foundation
import Models
import TensorCore
import TestSupport
import Values
import WeightFiles
import XCTest
@testable import Quantization

/// Whole models: pre-quantized checkpoints written by transformers + bitsandbytes load with transformers' logits;
/// quantizing the float checkpoint here gives the bytes transformers' `load_in_4bit`/`load_in_8bit` gives; saved
/// folders round-trip.
final class QuantizedModelTests: XCTestCase {
    let fixtures = TestSupport.packageRoot.appendingPathComponent("Tests/QuantizationTests/Fixtures")
    let floatModel = TestSupport.packageRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/llama")
    let be = CPUBackend(threads: 1)

    func load(_ dir: URL) throws -> (CausalLM, [String], BitsAndBytesConfig?) {
        let model = CausalLM(config: try DecoderConfig.load(directory: dir), backend: be)
        let (unused, q) = try BitsAndBytesCheckpoint.loadModel(model, from: try weightSource(directory: dir))
        return (model, unused, q)
    }

    func reference(_ name: String) throws -> (ids: [Int32], logits: [Float]) {
        let v = try JSON.parse(bytes: [UInt8](try Data(contentsOf: fixtures.appendingPathComponent("\(name)/logits.json"))))
        return (v["input_ids"]!.arrayValue!.map { Int32($0.intValue!) },
                v["logits"]!.arrayValue!.flatMap { $0.arrayValue!.map { Float($0.doubleValue!) } })
    }

    func logits(_ model: CausalLM, _ ids: [Int32]) -> [Float] {
        model.logits(ModelInput(batch: 1, seqLen: ids.count, inputIds: ids)).toArray()
    }

    func testPrequantizedCheckpointsGiveTransformersLogits() throws {
        for name in ["llama-nf4-dq", "llama-fp4", "llama-int8"] {
            let (model, unused, q) = try load(fixtures.appendingPathComponent(name))
            XCTAssertNotNil(q, name)
            XCTAssertEqual(unused, [], "\(name): every checkpoint entry is used")
            XCTAssertEqual(model.linearLayers.filter { $0.weight.value.elementType == .packed }.count, model.linearLayers.count, name)
            let ref = try reference(name)
            assertClose(logits(model, ref.ids), ref.logits, rtol: 1e-5, atol: 1e-6, "\(name) logits")
        }
    }

    func testQuantizingTheFloatModelMatchesTransformersBytes() throws {
        let configs: [(String, BitsAndBytesConfig)] = [
            ("llama-nf4-dq", BitsAndBytesConfig(mode: .fourBit(.nf4), doubleQuant: true)),
            ("llama-fp4", BitsAndBytesConfig(mode: .fourBit(.fp4))),
            ("llama-int8", BitsAndBytesConfig(mode: .eightBit)),
        ]
        for (name, config) in configs {
            let (model, _, _) = try load(floatModel)
            let summary = Quantizer.quantize(model, config)
            XCTAssertEqual(summary.layers, model.linearLayers.count)
            let saved = try SafeTensorsFile(url: fixtures.appendingPathComponent("\(name)/model.safetensors"))
            let mine = BitsAndBytesCheckpoint.tensors(model, dtype: .float32)
            XCTAssertEqual(Set(mine.map(\.name)), Set(saved.names), "\(name): the same entries as transformers' save_pretrained")
            for t in mine {
                let want = try saved.info(t.name)
                XCTAssertEqual(t.dtype, want.dtype, "\(name) \(t.name) dtype")
                XCTAssertEqual(t.shape, want.shape, "\(name) \(t.name) shape")
                if t.name.contains("quant_state") {
                    // JSON text: compare parsed (the float offset prints the same, key order is bitsandbytes').
                    XCTAssertEqual(try JSON.parse(bytes: t.bytes), try JSON.parse(bytes: Array(try saved.bytes(t.name))), "\(name) \(t.name)")
                } else {
                    XCTAssertEqual(t.bytes, Array(try saved.bytes(t.name)), "\(name) \(t.name) bytes")
                }
            }
            let ref = try reference(name)
            assertClose(logits(model, ref.ids), ref.logits, rtol: 1e-5, atol: 1e-6, "\(name) logits after quantizing here")
        }
    }

    func testSavedQuantizedFolderRoundTrips() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, _, _) = try load(floatModel)
        let config = BitsAndBytesConfig(mode: .fourBit(.nf4), doubleQuant: true)
        Quantizer.quantize(model, config)
        try BitsAndBytesCheckpoint.save(model, config: config, to: dir)
        let saved = try JSON.parse(bytes: [UInt8](try Data(contentsOf: dir.appendingPathComponent("config.json"))))
        XCTAssertEqual(saved["quantization_config"]?["quant_method"]?.stringValue, "bitsandbytes")
        XCTAssertEqual(saved["quantization_config"]?["bnb_4bit_quant_type"]?.stringValue, "nf4")
        let (reloaded, unused, q) = try load(dir)
        XCTAssertEqual(q, config)
        XCTAssertEqual(unused, [])
        let ids: [Int32] = [1, 4, 9, 16, 25, 36]
        XCTAssertEqual(logits(reloaded, ids), logits(model, ids))
    }

    func testOtherQuantizationMethodsAreRefusedWithTheFix() throws {
        let q: Value = ["quant_method": "gptq", "bits": 4]
        XCTAssertThrowsError(try BitsAndBytesConfig(quantizationConfig: q, file: "config.json")) { e in
            XCTAssertTrue("\(e)".contains("quant_method is \"gptq\"; sftrun reads bitsandbytes-quantized checkpoints only"), "\(e)")
        }
        XCTAssertNil(try BitsAndBytesConfig(quantizationConfig: ["quant_method": "bitsandbytes"], file: "config.json"),
                     "a bitsandbytes config that quantizes nothing")
    }

    func testDamagedCheckpointsAreClearErrors() throws {
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = fixtures.appendingPathComponent("llama-nf4-dq")
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: dir.appendingPathComponent("config.json"))
        // Drop one layer's quant_state: the loader names the tensor instead of crashing.
        let file = try SafeTensorsFile(url: source.appendingPathComponent("model.safetensors"))
        let kept = try file.names.filter { $0 != "model.layers.0.mlp.up_proj.weight.quant_state.bitsandbytes__nf4" }.map { name in
            let i = try file.info(name)
            return TensorData(name: name, dtype: i.dtype, shape: i.shape, bytes: Array(try file.bytes(name)))
        }
        try SafeTensorsWriter.write(kept, to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try load(dir)) { e in
            XCTAssertTrue("\(e)".contains("model.layers.0.mlp.up_proj.weight"), "\(e)")
            XCTAssertTrue("\(e)".contains("quant_state"), "\(e)")
        }
        // A 4-bit weight whose packed bytes are too few for config.json's shape.
        let short = kept.map { t -> TensorData in
            guard t.name == "model.layers.0.self_attn.q_proj.weight" else { return t }
            return TensorData(name: t.name, dtype: t.dtype, shape: [t.bytes.count - 2, 1], bytes: Array(t.bytes.dropLast(2)))
        }
        let state = try file.info("model.layers.0.mlp.up_proj.weight.quant_state.bitsandbytes__nf4")
        try SafeTensorsWriter.write(short + [TensorData(name: state.name, dtype: state.dtype, shape: state.shape, bytes: Array(try file.bytes(state.name)))],
                                    to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try load(dir)) { e in XCTAssertTrue("\(e)".contains("packed bytes"), "\(e)") }
    }
}

/// The packed matmul path (decode a row block, sgemm) against the same weight decoded whole, across tile boundaries.
final class PackedLinearTests: XCTestCase {
    func testForwardAndInputGradientEqualTheDequantizedWeight() {
        let be = CPUBackend(threads: 2)
        // 2100 × 640 = 1.34 M elements: two decode blocks of Linear's 1 M-element tile, the second one partial.
        let out = 2100, inF = 640, n = 5
        let w = BitsAndBytesParityTests.weights(out * inF, seed: 5, scale: 0.1)
        for packed in [w.withUnsafeBufferPointer { FourBitMatrix(quantizing: $0, shape: [out, inF], type: .nf4, doubleQuant: true) as PackedWeight },
                       w.withUnsafeBufferPointer { Int8Matrix(quantizing: $0, shape: [out, inF]) as PackedWeight }] {
            let q = Tensor(shape: [out, inF], packed: packed)
            let dense = q.copy()
            XCTAssertEqual(q.byteCount, packed.byteCount)
            XCTAssertLessThan(Double(q.byteCount), 0.3 * Double(dense.byteCount), "packed bytes against float32")
            let x = Tensor(shape: [n, inF], values: BitsAndBytesParityTests.weights(n * inF, seed: 6, scale: 2))
            let y = Linear.forward(be, x: x, weight: q, bias: nil), yRef = Linear.forward(be, x: x, weight: dense, bias: nil)
            assertClose(y.toArray(), yRef.toArray(), rtol: 1e-5, atol: 1e-6, "forward \(type(of: packed))")
            let dy = Tensor(shape: [n, out], values: BitsAndBytesParityTests.weights(n * out, seed: 7, scale: 1))
            let dx = Tensor(zeros: [n, inF]), dxRef = Tensor(zeros: [n, inF])
            Linear.backward(be, dy: dy, x: x, weight: q, dx: dx, dWeight: nil, dBias: nil)
            Linear.backward(be, dy: dy, x: x, weight: dense, dx: dxRef, dWeight: nil, dBias: nil)
            assertClose(dx.toArray(), dxRef.toArray(), rtol: 1e-5, atol: 1e-6, "input gradient \(type(of: packed))")
        }
    }
}
