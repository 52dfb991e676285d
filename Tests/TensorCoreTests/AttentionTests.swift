import TestSupport
import XCTest
@testable import TensorCore

/// The tiled kernel against the plain one and against finite differences, over the edge cases of masking.
final class AttentionTests: XCTestCase {
    let be = testBackend

    struct Case {
        var shape: AttentionShape
        var mask: AttentionMask
        var scale: Double
    }

    func run<S: KernelScalar>(_ c: Case, _ q: [S], _ k: [S], _ v: [S], dOut: [S]?, reference: Bool) -> (out: [S], dq: [S], dk: [S], dv: [S]) {
        var q = q, k = k, v = v, dOut = dOut ?? []
        let sh = c.shape, T = sh.seqLen
        var out = [S](repeating: 0, count: q.count), lse = [S](repeating: 0, count: sh.batch * sh.queryHeads * T)
        var probs = [S](repeating: 0, count: reference ? sh.batch * sh.queryHeads * T * T : 0)
        var dq = [S](repeating: 0, count: q.count), dk = [S](repeating: 0, count: k.count), dv = dk
        let wantGrad = !dOut.isEmpty
        q.ptr { qp in k.ptr { kp in v.ptr { vp in out.ptr { op in lse.ptr { lp in probs.ptr { pp in
            dOut.ptr { dop in dq.ptr { dqp in dk.ptr { dkp in dv.ptr { dvp in
                if reference {
                    Attention.referenceForward(be, shape: sh, mask: c.mask, scale: S(c.scale), q: qp, k: kp, v: vp, out: op, probs: pp)
                    if wantGrad { Attention.referenceBackward(be, shape: sh, scale: S(c.scale), q: qp, k: kp, v: vp, probs: pp, dOut: dop, dq: dqp, dk: dkp, dv: dvp) }
                } else {
                    Attention.forward(be, shape: sh, mask: c.mask, scale: S(c.scale), q: qp, k: kp, v: vp, out: op, lse: lp)
                    if wantGrad { Attention.backward(be, shape: sh, mask: c.mask, scale: S(c.scale), q: qp, k: kp, v: vp, out: op, lse: lp, dOut: dop, dq: dqp, dk: dkp, dv: dvp) }
                }
            } } } }
        } } } } } }
        return (out, dq, dk, dv)
    }

    /// Left padding leaves the first queries with no visible key: their output and gradient are zero.
    static func cases(seqLen T: Int) -> [(String, Case)] {
        let left = (0..<(2 * T)).map { $0 % T >= min(2, T - 1) || $0 < T }
        let segs = (0..<(2 * T)).map { Int32(($0 % T) * 3 / max(T, 1)) }
        return [
            ("gqa2", Case(shape: .init(batch: 2, seqLen: T, queryHeads: 4, kvHeads: 2, headDim: 4), mask: .init(), scale: 0.5)),
            ("mha-left-padding", Case(shape: .init(batch: 2, seqLen: T, queryHeads: 2, kvHeads: 2, headDim: 4), mask: .init(keyValid: left), scale: 0.5)),
            ("mqa-packed", Case(shape: .init(batch: 2, seqLen: T, queryHeads: 3, kvHeads: 1, headDim: 4), mask: .init(segmentIds: segs), scale: 0.5)),
            ("window-small", Case(shape: .init(batch: 1, seqLen: T, queryHeads: 2, kvHeads: 1, headDim: 4), mask: .init(window: 2), scale: 1)),
            ("window-larger-than-seq", Case(shape: .init(batch: 1, seqLen: T, queryHeads: 2, kvHeads: 2, headDim: 4), mask: .init(window: T + 5), scale: 0.5)),
        ]
    }

    func testFlashMatchesFiniteDifferencesInDouble() {
        for T in [1, 5] {
            for (name, c) in Self.cases(seqLen: T) {
                var r = TestRandom(UInt64(T) * 31)
                let nq = c.shape.tokens * c.shape.queryHeads * c.shape.headDim, nk = c.shape.tokens * c.shape.kvHeads * c.shape.headDim
                checkGradients([r.values(nq), r.values(nk), r.values(nk)], forward: { xs in
                    run(c, xs[0], xs[1], xs[2], dOut: nil, reference: false).out
                }, backward: { xs, dy in
                    let g = run(c, xs[0], xs[1], xs[2], dOut: dy, reference: false)
                    return [g.dq, g.dk, g.dv]
                }, "flash \(name) T=\(T)")
            }
        }
    }

    func testFlashMatchesReferenceAcrossTilesInFloat() {
        for T in [63, 64, 130] {
            for (name, c) in Self.cases(seqLen: T) {
                var r = TestRandom(UInt64(T))
                let nq = c.shape.tokens * c.shape.queryHeads * c.shape.headDim, nk = c.shape.tokens * c.shape.kvHeads * c.shape.headDim
                let q = r.values(nq).map(Float.init), k = r.values(nk).map(Float.init), v = r.values(nk).map(Float.init)
                let dOut = r.values(nq).map(Float.init)
                let flash = run(c, q, k, v, dOut: dOut, reference: false)
                let ref = run(c, q, k, v, dOut: dOut, reference: true)
                assertClose(flash.out, ref.out, "\(name) T=\(T) out")
                assertClose(flash.dq, ref.dq, "\(name) T=\(T) dq")
                assertClose(flash.dk, ref.dk, "\(name) T=\(T) dk")
                assertClose(flash.dv, ref.dv, "\(name) T=\(T) dv")
                if name == "mha-left-padding" {
                    XCTAssertEqual(Array(flash.out[(T * 8)..<(T * 8 + 8)]), [Float](repeating: 0, count: 8), "a query with no visible key outputs zeros")
                }
            }
        }
    }

    func testFlashIsBitIdenticalRunToRun() {
        let c = Self.cases(seqLen: 100)[0].1
        var r = TestRandom(99)
        let nq = c.shape.tokens * c.shape.queryHeads * 4, nk = c.shape.tokens * c.shape.kvHeads * 4
        let q = r.values(nq).map(Float.init), k = r.values(nk).map(Float.init), v = r.values(nk).map(Float.init), d = r.values(nq).map(Float.init)
        let a = run(c, q, k, v, dOut: d, reference: false), b = run(c, q, k, v, dOut: d, reference: false)
        XCTAssertEqual(a.out, b.out)
        XCTAssertEqual(a.dk, b.dk)
        XCTAssertEqual(a.dq, b.dq)
    }
}
