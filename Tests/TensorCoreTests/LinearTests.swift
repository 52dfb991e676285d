import XCTest
@testable import TensorCore

final class LinearTests: XCTestCase {
    func testLinearForwardMatchesReferenceWithin1e5() throws {
        let n = 3, inF = 4, out = 5
        let xs = (0..<(n * inF)).map { Float(sin(Double($0))) }
        let ws = (0..<(out * inF)).map { Float(cos(Double($0) * 0.7)) }
        let bs = (0..<out).map { Float($0) * 0.1 }
        let y = try Linear.forward(CPUBackend(), x: Tensor(shape: [n, inF], data: xs),
                                   weight: Tensor(shape: [out, inF], data: ws), bias: Tensor(shape: [out], data: bs))
        let ref = Linear.reference(x: xs, weight: ws, bias: bs, n: n, inF: inF, out: out)
        for (a, b) in zip(y.data, ref) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testLinearBackwardMatchesFiniteDifferencesInDouble() throws {
        let n = 2, inF = 3, out = 2
        let xs = (0..<(n * inF)).map { sin(Double($0) + 1) }
        let ws = (0..<(out * inF)).map { cos(Double($0) * 0.3) }
        let dyD = (0..<(n * out)).map { Double($0) * 0.5 - 0.4 }
        func loss(_ x: [Double], _ w: [Double]) -> Double {
            zip(Linear.reference(x: x, weight: w, bias: nil, n: n, inF: inF, out: out), dyD).map { $0 * $1 }.reduce(0, +)
        }
        let h = 1e-6
        var dx = Tensor(zeros: [n, inF]), dw = Tensor(zeros: [out, inF]); var db: Tensor? = Tensor(zeros: [out])
        try Linear.backward(CPUBackend(), dy: Tensor(shape: [n, out], data: dyD.map(Float.init)),
                            x: Tensor(shape: [n, inF], data: xs.map(Float.init)),
                            weight: Tensor(shape: [out, inF], data: ws.map(Float.init)),
                            dx: &dx, dWeight: &dw, dBias: &db)
        for i in 0..<xs.count {
            var p = xs, m = xs; p[i] += h; m[i] -= h
            XCTAssertEqual(Double(dx.data[i]), (loss(p, ws) - loss(m, ws)) / (2 * h), accuracy: 1e-4)
        }
        for i in 0..<ws.count {
            var p = ws, m = ws; p[i] += h; m[i] -= h
            XCTAssertEqual(Double(dw.data[i]), (loss(xs, p) - loss(xs, m)) / (2 * h), accuracy: 1e-4)
        }
        XCTAssertEqual(Double(db!.data[0]), dyD[0] + dyD[2], accuracy: 1e-6)
    }

    func testFrozenWeightSkipsWeightGradient() throws {
        var dx = Tensor(zeros: [1, 2]), dw = Tensor(zeros: [1, 2]); var db: Tensor? = nil
        try Linear.backward(CPUBackend(), dy: Tensor(shape: [1, 1], data: [1]), x: Tensor(shape: [1, 2], data: [1, 2]),
                            weight: Tensor(shape: [1, 2], data: [3, 4]), dx: &dx, dWeight: &dw, dBias: &db, frozenWeight: true)
        XCTAssertEqual(dw.data, [0, 0])
        XCTAssertEqual(dx.data, [3, 4])
    }

    func testCUDABackendThrowsClearError() {
        var c = [Float](repeating: 0, count: 1)
        XCTAssertThrowsError(try CUDABackend().gemm(transA: false, transB: false, m: 1, n: 1, k: 1, alpha: 1, a: [1], b: [1], beta: 0, c: &c))
    }
}
