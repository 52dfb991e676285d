import Foundation
import TestSupport
import Values
import XCTest
@testable import WeightFiles

final class SafeTensorsTests: XCTestCase {
    let fixtures = TestSupport.packageRoot.appendingPathComponent("Tests/WeightFilesTests/Fixtures")

    func tempDir() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("wf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }

    func expected() throws -> ExpectedTensors {
        let text = try String(contentsOf: fixtures.appendingPathComponent("all_dtypes.json"), encoding: .utf8)
        return ExpectedTensors(value: try JSON.parse(text))
    }

    func testEveryDtypeReadsTheValuesTorchWrote() throws {
        let f = try SafeTensorsFile(url: fixtures.appendingPathComponent("all_dtypes.safetensors"))
        XCTAssertEqual(f.metadata, ["format": "pt", "note": "fixture"])
        let exp = try expected()
        XCTAssertEqual(Set(f.names), Set(exp.keys))
        for name in exp.keys {
            let e = exp.value[name]!
            XCTAssertEqual(try f.info(name).shape, e["shape"]!.arrayValue!.map { $0.intValue! }, name)
            XCTAssertEqual(Array(try f.bytes(name)), e["bytes"]!.arrayValue!.map { UInt8($0.intValue!) }, name)
            XCTAssertEqual(try f.floats(name), e["values"]!.arrayValue!.map { Float($0.doubleValue!) }, name)
        }
    }

    func testWriterIsByteIdenticalToPythonSafetensors() throws {
        let url = fixtures.appendingPathComponent("all_dtypes.safetensors")
        let f = try SafeTensorsFile(url: url)
        let tensors = try f.names.reversed().map { n in
            let i = try f.info(n)
            return TensorData(name: n, dtype: i.dtype, shape: i.shape, bytes: Array(try f.bytes(n)))
        }
        let ours = try SafeTensorsWriter.serialize(tensors, metadata: f.metadata)
        XCTAssertEqual(ours, Array(try Data(contentsOf: url)))
    }

    func testRoundTripWriteThenReadGivesIdenticalBytes() throws {
        let d = try tempDir()
        let url = d.appendingPathComponent("x.safetensors")
        let t = [TensorData(name: "w", dtype: .BF16, shape: [2, 2], bytes: [1, 2, 3, 4, 5, 6, 7, 8]),
                 TensorData(name: "b", dtype: .U8, shape: [3], bytes: [9, 8, 7])]
        try SafeTensorsWriter.write(t, to: url)
        let f = try SafeTensorsFile(url: url)
        XCTAssertEqual(f.metadata, ["format": "pt"])
        XCTAssertEqual(Array(try f.bytes("w")), t[0].bytes)
        XCTAssertEqual(Array(try f.bytes("b")), t[1].bytes)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: d.path), ["x.safetensors"])
    }

    func testShardedCheckpointOpensAcrossShardsAndNamesAMissingShard() throws {
        let d = try tempDir()
        let t = (0..<3).map { TensorData(name: "layer.\($0).weight", dtype: .F32, shape: [4], bytes: Array(repeating: UInt8($0), count: 16)) }
        let names = try SafeTensorsWriter.writeSharded(t, maxShardBytes: 20, to: d)
        XCTAssertEqual(names, ["model-00001-of-00003.safetensors", "model-00002-of-00003.safetensors",
                               "model-00003-of-00003.safetensors", "model.safetensors.index.json"])
        let idx = try CheckpointIndex(directory: d)
        XCTAssertEqual(idx.totalSize, 48)
        let indexText = try String(contentsOf: d.appendingPathComponent("model.safetensors.index.json"), encoding: .utf8)
        XCTAssertTrue(indexText.hasPrefix("{\n  \"metadata\": {\n    \"total_parameters\": 12,\n    \"total_size\": 48\n  },\n  \"weight_map\": {\n    \"layer.0.weight\": \"model-00001-of-00003.safetensors\","), indexText)
        XCTAssertEqual(Array(try idx.bytes("layer.2.weight")), Array(repeating: 2, count: 16))
        try FileManager.default.removeItem(at: d.appendingPathComponent("model-00002-of-00003.safetensors"))
        XCTAssertThrowsError(try CheckpointIndex(directory: d)) {
            XCTAssertTrue("\($0)".contains("shard model-00002-of-00003.safetensors named in weight_map is missing"), "\($0)")
        }
    }

    func testOversizedTensorGetsItsOwnShardAheadOfTheOpenShardAsHuggingFaceHubSplits() throws {
        let d = try tempDir()
        let t = [TensorData(name: "a", dtype: .U8, shape: [4], bytes: [1, 1, 1, 1]),
                 TensorData(name: "big", dtype: .U8, shape: [16], bytes: Array(repeating: 2, count: 16)),
                 TensorData(name: "c", dtype: .U8, shape: [4], bytes: [3, 3, 3, 3])]
        try SafeTensorsWriter.writeSharded(t, maxShardBytes: 10, to: d)
        let idx = try CheckpointIndex(directory: d)
        XCTAssertEqual(idx.weightMap, ["big": "model-00001-of-00002.safetensors", "a": "model-00002-of-00002.safetensors",
                                       "c": "model-00002-of-00002.safetensors"])
    }

    func testTensorMissingFromItsMappedShardIsRefused() throws {
        let d = try tempDir()
        let t = (0..<2).map { TensorData(name: "t\($0)", dtype: .U8, shape: [8], bytes: Array(repeating: 0, count: 8)) }
        try SafeTensorsWriter.writeSharded(t, maxShardBytes: 8, to: d)
        try SafeTensorsWriter.write([t[0]], to: d.appendingPathComponent("model-00002-of-00002.safetensors"))
        XCTAssertThrowsError(try CheckpointIndex(directory: d)) {
            XCTAssertTrue("\($0)".contains("tensor \"t1\" is mapped to model-00002-of-00002.safetensors but that shard does not hold it"), "\($0)")
        }
    }

    func testBf16AndF16NarrowingMatchesTorchRounding() throws {
        let text = try String(contentsOf: fixtures.appendingPathComponent("rounding.json"), encoding: .utf8)
        let v = try JSON.parse(text)
        let f32 = v["f32_bits"]!.arrayValue!.map { Float(bitPattern: UInt32(bitPattern: Int32($0.intValue!))) }
        let bf = v["bf16_bits"]!.arrayValue!.map { UInt16(bitPattern: Int16($0.intValue!)) }
        let h = v["f16_bits"]!.arrayValue!.map { UInt16(bitPattern: Int16($0.intValue!)) }
        for (i, x) in f32.enumerated() {
            XCTAssertEqual(Conversions.floatToBF16(x), bf[i], "bf16 of \(x)")
            XCTAssertEqual(Conversions.floatToF16(x), h[i], "f16 of \(x)")
            XCTAssertEqual(Conversions.floatToBF16(Conversions.bf16ToFloat(bf[i])), bf[i], "bf16 widening is exact")
        }
    }
}

/// The expected-values JSON as a name → entry map.
struct ExpectedTensors {
    var value: [String: Value]
    var keys: [String] { value.keys.sorted() }
    init(value v: Value) { var m: [String: Value] = [:]; for (k, e) in v.objectValue! { m[k] = e }; value = m }
}
