import Foundation
import TestSupport
import WeightFiles
import XCTest
@testable import TensorCore

/// Deterministic values for tests (splitmix64 → uniform in [-1, 1)).
struct TestRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) * 0x1p-52 - 1
    }
    mutating func values(_ n: Int, scale: Double = 1) -> [Double] { (0..<n).map { _ in next() * scale } }
}

/// The PyTorch fixture file written by scripts/make_tensor_fixtures.py.
final class OpsFixture: @unchecked Sendable {
    static let shared = try! OpsFixture()
    let file: SafeTensorsFile
    let settings: [String: [String: Any]]

    init() throws {
        file = try SafeTensorsFile(url: TestSupport.packageRoot.appendingPathComponent("Tests/TensorCoreTests/Fixtures/ops.safetensors"))
        var s: [String: [String: Any]] = [:]
        for (k, v) in file.metadata where k != "format" {
            s[k] = try JSONSerialization.jsonObject(with: Data(v.utf8)) as? [String: Any]
        }
        settings = s
    }

    func floats(_ name: String) -> [Float] { try! file.floats(name) }
    func tensor(_ name: String) -> Tensor {
        let info = try! file.info(name)
        return Tensor(shape: info.shape, values: floats(name))
    }
    func ints(_ name: String) -> [Int32] {
        let b = try! file.bytes(name)
        return (0..<(b.count / 4)).map { b.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self) }
    }
    func has(_ name: String) -> Bool { file.names.contains(name) }
    func setting(_ c: String, _ k: String) -> Any? { settings[c]?[k] }
}


/// Central-difference check in Double of L = Σ dy·f(inputs): the analytic gradient from `backward` must match
/// (L(x+h) − L(x−h)) / 2h for every element of every input.
func checkGradients(_ inputs: [[Double]], seed: UInt64 = 7, h: Double = 1e-6, tolerance: Double = 1e-6,
                    forward: ([[Double]]) -> [Double], backward: ([[Double]], [Double]) -> [[Double]],
                    _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    var rng = TestRandom(seed)
    let y0 = forward(inputs)
    let dy = rng.values(y0.count)
    let analytic = backward(inputs, dy)
    func loss(_ xs: [[Double]]) -> Double { zip(forward(xs), dy).reduce(0) { $0 + $1.0 * $1.1 } }
    for (a, input) in inputs.enumerated() {
        for i in 0..<input.count {
            var p = inputs, m = inputs
            p[a][i] += h
            m[a][i] -= h
            let numeric = (loss(p) - loss(m)) / (2 * h)
            let got = analytic[a][i]
            if abs(got - numeric) > tolerance * max(1, abs(numeric)) {
                XCTFail("\(what): d/d input\(a)[\(i)] analytic \(got) vs finite difference \(numeric)", file: file, line: line)
                return
            }
        }
    }
}

extension Array {
    /// Mutable pointer access for kernels in tests.
    mutating func ptr<R>(_ body: (UnsafeMutablePointer<Element>) -> R) -> R {
        withUnsafeMutableBufferPointer { body($0.baseAddress!) }
    }
}

let testBackend = CPUBackend(threads: 2)
