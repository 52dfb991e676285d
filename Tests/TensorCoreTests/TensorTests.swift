import TestSupport
import XCTest
@testable import TensorCore

final class TensorTests: XCTestCase {
    func testStorageIsAlignedAndTracked() {
        let before = MemoryTracker.shared.liveBytes
        do {
            let t = Tensor(zeros: [3, 5])
            XCTAssertEqual(Int(bitPattern: t.storage.raw) % TensorStorage.alignment, 0)
            XCTAssertEqual(MemoryTracker.shared.liveBytes - before, 60)
            let view = t.rows(1..<3).reshaped([10])
            view.floats[0] = 7
            XCTAssertEqual(t.toArray()[5], 7, "views share storage")
        }
        XCTAssertEqual(MemoryTracker.shared.liveBytes, before, "storage is freed with its last tensor")
    }

    /// A bf16 weight is widened block by block on use; results equal a float32 run on the widened values.
    func testSixteenBitWeightsAreWidenedOnUse() {
        var r = TestRandom(11)
        let out = 2100, inF = 600, n = 3
        let wf = r.values(out * inF).map(Float.init)
        let bits = wf.map { UInt16(truncatingIfNeeded: $0.bitPattern >> 16) }
        for type in [ElementType.bfloat16, .float16] {
            let half = type == .bfloat16 ? bits : wf.map { Float16($0).bitPattern }
            let w16 = Tensor(shape: [out, inF], bits: half, type: type), w32 = w16.copy()
            XCTAssertEqual(w16.byteCount, out * inF * 2)
            let x = Tensor(shape: [n, inF], values: r.values(n * inF).map(Float.init))
            let y16 = Linear.forward(testBackend, x: x, weight: w16, bias: nil), y32 = Linear.forward(testBackend, x: x, weight: w32, bias: nil)
            XCTAssertEqual(y16.toArray(), y32.toArray(), "\(type) forward")
            let dy = Tensor(shape: [n, out], values: r.values(n * out).map(Float.init))
            let dx16 = Tensor(zeros: x.shape), dx32 = Tensor(zeros: x.shape)
            Linear.backward(testBackend, dy: dy, x: x, weight: w16, dx: dx16, dWeight: nil, dBias: nil)
            Linear.backward(testBackend, dy: dy, x: x, weight: w32, dx: dx32, dWeight: nil, dBias: nil)
            assertClose(dx16.toArray(), dx32.toArray(), "\(type) dx")
        }
    }
}
