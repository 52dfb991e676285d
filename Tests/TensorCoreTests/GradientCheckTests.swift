import TestSupport
import XCTest
@testable import TensorCore

/// Finite-difference checks in double precision of every op's backward, run on the same generic kernels that
/// train in float32.
final class GradientCheckTests: XCTestCase {
    let be = testBackend

    func testLinearGradients() {
        let n = 3, i = 4, o = 5
        var r = TestRandom(1)
        checkGradients([r.values(n * i), r.values(o * i), r.values(o)], forward: { xs in
            var x = xs[0], w = xs[1], b = xs[2], y = [Double](repeating: 0, count: n * o)
            x.ptr { xp in w.ptr { wp in b.ptr { bp in y.ptr { Linear.forward(be, x: xp, weight: wp, bias: bp, y: $0, rows: n, inFeatures: i, outFeatures: o) } } } }
            return y
        }, backward: { xs, dy in
            var x = xs[0], w = xs[1], dyv = dy
            var dx = [Double](repeating: 0, count: n * i), dw = [Double](repeating: 0, count: o * i), db = [Double](repeating: 0, count: o)
            x.ptr { xp in w.ptr { wp in dyv.ptr { dyp in dx.ptr { dxp in dw.ptr { dwp in db.ptr { dbp in
                Linear.backward(be, dy: dyp, x: xp, weight: wp, dx: dxp, dWeight: dwp, dBias: dbp, rows: n, inFeatures: i, outFeatures: o)
            } } } } } }
            return [dx, dw, db]
        }, "linear")
    }

    func testEmbeddingGradientsAccumulateRepeatedIdsAndHonourOffset() {
        var ids: [Int32] = [2, 0, 2, 1]
        let c = 3, rows = 5
        var r = TestRandom(2)
        for offset in [0, 2] {
            let n = ids.count
            checkGradients([r.values(rows * c)], forward: { xs in
                var t = xs[0], y = [Double](repeating: 0, count: n * c)
                ids.ptr { ip in t.ptr { tp in y.ptr { Embedding.forward(ids: ip, count: n, table: tp, columns: c, offset: offset, out: $0) } } }
                return y
            }, backward: { _, dy in
                var d = [Double](repeating: 0, count: rows * c), dyv = dy
                ids.ptr { ip in dyv.ptr { dyp in d.ptr { Embedding.backward(be, ids: ip, count: n, dOut: dyp, dTable: $0, columns: c, offset: offset) } } }
                return [d]
            }, "embedding offset \(offset)")
        }
    }

    func testLayerNormGradients() {
        let n = 3, c = 6
        var r = TestRandom(3)
        func run(_ xs: [[Double]], _ dy: [Double]?) -> [[Double]] {
            var x = xs[0], w = xs[1], b = xs[2], y = [Double](repeating: 0, count: n * c), m = [Double](repeating: 0, count: n), s = m
            var dx = y, dw = [Double](repeating: 0, count: c), db = dw, dyv = dy ?? []
            x.ptr { xp in w.ptr { wp in b.ptr { bp in y.ptr { yp in m.ptr { mp in s.ptr { sp in
                LayerNorm.forward(be, x: xp, weight: wp, bias: bp, y: yp, mean: mp, rstd: sp, rows: n, columns: c, eps: 1e-5)
                if dy != nil {
                    dyv.ptr { dyp in dx.ptr { dxp in dw.ptr { dwp in db.ptr { dbp in
                        LayerNorm.backward(be, dy: dyp, x: xp, weight: wp, mean: mp, rstd: sp, dx: dxp, dWeight: dwp, dBias: dbp, rows: n, columns: c)
                    } } } }
                }
            } } } } } }
            return dy == nil ? [y] : [dx, dw, db]
        }
        checkGradients([r.values(n * c, scale: 2), r.values(c), r.values(c)], forward: { run($0, nil)[0] }, backward: run, "layernorm")
    }

    func testRMSNormGradients() {
        let n = 3, c = 6
        var r = TestRandom(4)
        func run(_ xs: [[Double]], _ dy: [Double]?) -> [[Double]] {
            var x = xs[0], w = xs[1], y = [Double](repeating: 0, count: n * c), s = [Double](repeating: 0, count: n)
            var dx = y, dw = [Double](repeating: 0, count: c), dyv = dy ?? []
            x.ptr { xp in w.ptr { wp in y.ptr { yp in s.ptr { sp in
                RMSNorm.forward(be, x: xp, weight: wp, y: yp, rstd: sp, rows: n, columns: c, eps: 1e-6)
                if dy != nil {
                    dyv.ptr { dyp in dx.ptr { dxp in dw.ptr { RMSNorm.backward(be, dy: dyp, x: xp, weight: wp, rstd: sp, dx: dxp, dWeight: $0, rows: n, columns: c) } } }
                }
            } } } }
            return dy == nil ? [y] : [dx, dw]
        }
        checkGradients([r.values(n * c, scale: 2), r.values(c)], forward: { run($0, nil)[0] }, backward: run, "rmsnorm")
    }

    func testActivationAndGatedGradients() {
        var r = TestRandom(5)
        let x0 = r.values(40, scale: 4).filter { abs($0) > 1e-3 }
        for act in Activation.allCases {
            checkGradients([x0], forward: { xs in xs[0].map(act.value) }, backward: { xs, dy in
                var x = xs[0], d = [Double](repeating: 0, count: x.count), dyv = dy
                let n = x.count
                x.ptr { xp in dyv.ptr { dyp in d.ptr { act.backward(be, dy: dyp, x: xp, dx: $0, count: n) } } }
                return [d]
            }, "\(act)")
        }
        let n = 12
        checkGradients([r.values(n, scale: 3), r.values(n)], forward: { xs in
            var g = xs[0], u = xs[1], y = [Double](repeating: 0, count: n)
            g.ptr { gp in u.ptr { up in y.ptr { GatedActivation.forward(be, .silu, gate: gp, up: up, y: $0, count: n) } } }
            return y
        }, backward: { xs, dy in
            var g = xs[0], u = xs[1], dg = [Double](repeating: 0, count: n), du = dg, dyv = dy
            g.ptr { gp in u.ptr { up in dyv.ptr { dyp in dg.ptr { dgp in du.ptr {
                GatedActivation.backward(be, .silu, dy: dyp, gate: gp, up: up, dGate: dgp, dUp: $0, count: n)
            } } } } }
            return [dg, du]
        }, "swiglu")
    }

    func testSoftmaxGradients() {
        var r = TestRandom(6)
        checkGradients([r.values(3 * 7, scale: 3)], forward: { xs in
            var x = xs[0], y = [Double](repeating: 0, count: 21)
            x.ptr { xp in y.ptr { Softmax.forward(be, x: xp, y: $0, rows: 3, columns: 7) } }
            return y
        }, backward: { xs, dy in
            var x = xs[0], y = [Double](repeating: 0, count: 21), d = y, dyv = dy
            x.ptr { xp in y.ptr { Softmax.forward(be, x: xp, y: $0, rows: 3, columns: 7) } }
            y.ptr { yp in dyv.ptr { dyp in d.ptr { Softmax.backward(be, dy: dyp, y: yp, dx: $0, rows: 3, columns: 7) } } }
            return [d]
        }, "softmax")
    }

    func testDropoutBackwardIsExactAndMaskIsSeeded() {
        let drop = Dropout(probability: 0.3, seed: 42), n = 2000
        var r = TestRandom(7)
        checkGradients([r.values(50)], forward: { xs in
            var x = xs[0], y = [Double](repeating: 0, count: 50)
            x.ptr { xp in y.ptr { drop.forward(be, stream: 3, x: xp, y: $0, count: 50) } }
            return y
        }, backward: { _, dy in
            var d = [Double](repeating: 0, count: 50), dyv = dy
            dyv.ptr { dyp in d.ptr { drop.backward(be, stream: 3, dy: dyp, dx: $0, count: 50) } }
            return [d]
        }, "dropout")
        var ones = [Float](repeating: 1, count: n), a = ones, b = ones, c = ones
        ones.ptr { x in
            a.ptr { drop.forward(be, stream: 1, x: x, y: $0, count: n) }
            b.ptr { drop.forward(be, stream: 1, x: x, y: $0, count: n) }
            c.ptr { drop.forward(be, stream: 2, x: x, y: $0, count: n) }
        }
        XCTAssertEqual(a, b, "same seed and stream, same mask")
        XCTAssertNotEqual(a, c, "another stream, another mask")
        let dropped = Double(a.filter { $0 == 0 }.count) / Double(n)
        XCTAssertEqual(dropped, 0.3, accuracy: 0.04)
        XCTAssertEqual(a.first { $0 != 0 } ?? 0, Float(1 / 0.7), accuracy: 1e-6)
    }

    func testRotaryGradients() {
        let rope = RotaryEmbedding(headDim: 6, theta: 10000, scaling: .linear(factor: 2), maxPositionEmbeddings: 32)
        var pos: [Int32] = [0, 1, 2, 0, 1]
        let (c, s): ([Double], [Double]) = pos.ptr { rope.tables(positions: $0, count: 5) }
        var r = TestRandom(8)
        checkGradients([r.values(5 * 2 * 6)], forward: { xs in
            var x = xs[0]
            x.ptr { rope.apply(be, $0, tokens: 5, heads: 2, cos: c, sin: s) }
            return x
        }, backward: { _, dy in
            var d = dy
            d.ptr { rope.apply(be, $0, tokens: 5, heads: 2, cos: c, sin: s, inverse: true) }
            return [d]
        }, "rotary")
    }

    func testCrossEntropyGradientsAndFusedMatchesDoubleReference() {
        let n = 5, v = 7, c = 4
        var labels: [Int32] = [1, -100, 6, 0, -100]
        var r = TestRandom(9)
        checkGradients([r.values(n * v, scale: 3)], forward: { xs in
            var l = xs[0]
            return [l.ptr { lp in labels.ptr { LinearCrossEntropy.reference(logits: lp, labels: $0, rows: n, vocab: v).0 } }]
        }, backward: { xs, dy in
            var l = xs[0], d = [Double](repeating: 0, count: n * v)
            _ = l.ptr { lp in labels.ptr { lb in d.ptr { LinearCrossEntropy.reference(logits: lp, labels: lb, rows: n, vocab: v, gradScale: dy[0], dLogits: $0) } } }
            return [d]
        }, "cross-entropy")
        // Fused float32 run against the unfused double-precision chain logits = h·Wᵀ → CE → backward.
        var h = r.values(n * c), w = r.values(v * c)
        var logits = [Double](repeating: 0, count: n * v), dl = logits, dh = [Double](repeating: 0, count: n * c), dw = [Double](repeating: 0, count: v * c)
        let scale = 0.25
        let (lossD, _) = h.ptr { hp in w.ptr { wp in logits.ptr { lp in labels.ptr { lb in dl.ptr { dlp -> (Double, Int) in
            Linear.forward(be, x: hp, weight: wp, bias: nil, y: lp, rows: n, inFeatures: c, outFeatures: v)
            let res = LinearCrossEntropy.reference(logits: lp, labels: lb, rows: n, vocab: v, gradScale: scale, dLogits: dlp)
            dh.ptr { dhp in dw.ptr { Linear.backward(be, dy: dlp, x: hp, weight: wp, dx: dhp, dWeight: $0, dBias: nil, rows: n, inFeatures: c, outFeatures: v) } }
            return res
        } } } } }
        let ht = Tensor(shape: [n, c], values: h.map(Float.init)), wt = Tensor(shape: [v, c], values: w.map(Float.init))
        let dht = Tensor(zeros: [n, c]), dwt = Tensor(zeros: [v, c])
        let res = labels.ptr { LinearCrossEntropy.run(be, hidden: ht, weight: wt, labels: $0, chunkRows: 2, gradScale: Float(scale), dHidden: dht, dWeight: dwt) }
        XCTAssertEqual(res.lossSum, lossD, accuracy: 1e-5 * abs(lossD))
        assertClose(dht.toArray(), dh.map(Float.init), "fused dh")
        assertClose(dwt.toArray(), dw.map(Float.init), "fused dw")
    }
}
