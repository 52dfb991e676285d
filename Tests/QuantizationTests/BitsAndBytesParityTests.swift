import Foundation
import HubClient
import TestSupport
import Values
import XCTest
@testable import Quantization

/// Quantize/dequantize bit-identical to bitsandbytes 0.50 on CPU (fixtures: scripts/make_quant_fixtures.py).
final class BitsAndBytesParityTests: XCTestCase {
    static let fixture: Value = {
        let url = TestSupport.packageRoot.appendingPathComponent("Tests/QuantizationTests/Fixtures/bnb.json")
        return try! JSON.parse(bytes: [UInt8](try! Data(contentsOf: url)))
    }()

    /// The fixture script's weights: splitmix64 of the element index → 24-bit uniform, (u − 0.5)·scale, every 997th ×8.
    static func weights(_ n: Int, seed: UInt64, scale: Float) -> [Float] {
        (0..<n).map { i in
            var z = seed &+ UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let u = Float(z >> 40) * 0x1p-24
            let w = (u - 0.5) * scale
            return i % 997 == 996 ? w * 8 : w
        }
    }

    func sha(_ v: [Float]) -> String { FileDigest.sha256(v.withUnsafeBytes { Array($0) }) }
    func sha(_ v: [UInt8]) -> String { FileDigest.sha256(v) }
    func bits(_ v: Value?) -> [Float] { (v?.arrayValue ?? []).map { Float(bitPattern: UInt32(truncatingIfNeeded: $0.intValue!)) } }

    func testCodebooksAreBitsandbytes() {
        let f = Self.fixture
        XCTAssertEqual(Codebook.dynamic.map(\.bitPattern), bits(f["dynamic_map_bits"]).map(\.bitPattern))
        XCTAssertEqual(Codebook.nf4.map(\.bitPattern), bits(f["nf4_bits"]).map(\.bitPattern))
        XCTAssertEqual(Codebook.fp4.map(\.bitPattern), bits(f["fp4_bits"]).map(\.bitPattern))
    }

    func testFourBitRoundTripsAreBitIdentical() throws {
        for c in Self.fixture["four_bit"]!.arrayValue! {
            let shape = c["shape"]!.arrayValue!.map { $0.intValue! }, n = shape.reduce(1, *)
            var w = Self.weights(n, seed: UInt64(c["seed"]!.intValue!), scale: Float(c["scale"]!.doubleValue!))
            if shape == [8, 96] { for i in 2 * 96 ..< 2 * 96 + 64 { w[i] = 0 } }
            let storage = ComputeDType(rawValue: c["dtype"]!.stringValue!)!
            if storage != .float32 { w = w.map { storage.round($0) } }
            let type = FourBitType(rawValue: c["quant_type"]!.stringValue!)!, dq = c["double_quant"]!.boolValue!
            let what = "\(shape) \(type) dq=\(dq) \(storage)"
            let m = w.withUnsafeBufferPointer { FourBitMatrix(quantizing: $0, shape: shape, type: type, doubleQuant: dq, storageDType: storage) }
            XCTAssertEqual(m.packed.prefix(12).map(Int.init), c["packed_head"]!.arrayValue!.map { $0.intValue! }, "\(what) packed head")
            XCTAssertEqual(sha(m.packed), c["packed_sha256"]!.stringValue!, "\(what) packed bytes")
            switch m.statistics {
            case .plain(let absmax):
                XCTAssertFalse(dq)
                XCTAssertEqual(sha(absmax), c["absmax_sha256"]!.stringValue!, "\(what) absmax")
            case .nested(let codes, let nested, _, _, let offset):
                XCTAssertTrue(dq)
                XCTAssertEqual(offset.bitPattern, UInt32(truncatingIfNeeded: c["offset_bits"]!.intValue!), "\(what) nested offset")
                XCTAssertEqual(nested.map(\.bitPattern), bits(c["nested_absmax_bits"]).map(\.bitPattern), "\(what) nested absmax")
                XCTAssertEqual(sha(codes), c["absmax_sha256"]!.stringValue!, "\(what) absmax codes")
            }
            var out = [Float](repeating: .nan, count: n)
            out.withUnsafeMutableBufferPointer { m.decode(into: $0.baseAddress!, from: 0, count: n) }
            XCTAssertEqual(sha(out), c["dequantized_sha256"]!.stringValue!, "\(what) dequantized")
            // Decoding any window (odd starts, across blocks) gives the same values as decoding the whole.
            let start = min(n - 1, 37), count = min(n - start, 203)
            var part = [Float](repeating: .nan, count: count)
            part.withUnsafeMutableBufferPointer { m.decode(into: $0.baseAddress!, from: start, count: count) }
            XCTAssertEqual(part.map(\.bitPattern), out[start..<start + count].map(\.bitPattern), "\(what) window")
        }
    }

    func testEightBitBlockwiseIsBitIdentical() {
        for c in Self.fixture["blockwise"]!.arrayValue! {
            let n = c["n"]!.intValue!
            let x = Self.weights(n, seed: UInt64(c["seed"]!.intValue!), scale: Float(c["scale"]!.doubleValue!))
            let (q, absmax) = Blockwise.quantize8bit(x, code: Codebook.dynamic, blocksize: 256)
            XCTAssertEqual(q.prefix(12).map(Int.init), c["q_head"]!.arrayValue!.map { $0.intValue! }, "n=\(n) head")
            XCTAssertEqual(sha(q), c["q_sha256"]!.stringValue!, "n=\(n) codes")
            XCTAssertEqual(absmax.map(\.bitPattern), bits(c["absmax_bits"]).map(\.bitPattern), "n=\(n) absmax")
            XCTAssertEqual(sha(Blockwise.dequantize8bit(q, absmax: absmax, code: Codebook.dynamic, blocksize: 256)),
                           c["dequantized_sha256"]!.stringValue!, "n=\(n) dequantized")
        }
    }

    func testInt8RowwiseIsBitIdentical() {
        for c in Self.fixture["int8"]!.arrayValue! {
            let shape = c["shape"]!.arrayValue!.map { $0.intValue! }, n = shape.reduce(1, *)
            let w = Self.weights(n, seed: UInt64(c["seed"]!.intValue!), scale: Float(c["scale"]!.doubleValue!))
            let m = w.withUnsafeBufferPointer { Int8Matrix(quantizing: $0, shape: shape) }
            XCTAssertEqual(m.cb.prefix(12).map(Int.init), c["cb_head"]!.arrayValue!.map { $0.intValue! }, "\(shape) CB head")
            XCTAssertEqual(sha(m.cb.map { UInt8(bitPattern: $0) }), c["cb_sha256"]!.stringValue!, "\(shape) CB")
            XCTAssertEqual(sha(m.scb), c["scb_sha256"]!.stringValue!, "\(shape) SCB")
            var out = [Float](repeating: .nan, count: n)
            out.withUnsafeMutableBufferPointer { m.decode(into: $0.baseAddress!, from: 0, count: n) }
            XCTAssertEqual(sha(out), c["dequantized_sha256"]!.stringValue!, "\(shape) dequantized")
        }
    }

    func testTorchSumMatchesCascadeOnSmallSizes() {
        // Exact sums where order does not matter, and the scalar/vector boundary.
        for n in [1, 3, 7, 8, 9, 31, 64, 100] {
            let x = (0..<n).map { Float($0 % 5) }
            XCTAssertEqual(TorchSum.sum(x), Float(x.reduce(0, +)), "n=\(n)")
        }
    }
}
