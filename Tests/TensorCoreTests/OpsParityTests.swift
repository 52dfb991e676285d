import TestSupport
import XCTest
@testable import TensorCore

/// Every op's float32 forward and input/weight gradients against PyTorch (scripts/make_tensor_fixtures.py).
final class OpsParityTests: XCTestCase {
    let fx = OpsFixture.shared
    let be = testBackend

    func testLinearMatchesTorch() {
        let x = fx.tensor("linear.x"), w = fx.tensor("linear.w"), b = fx.tensor("linear.b")
        let y = Linear.forward(be, x: x, weight: w, bias: b)
        assertClose(y.toArray(), fx.floats("linear.y"), "linear y")
        let dx = Tensor(zeros: x.shape), dw = Tensor(zeros: w.shape), db = Tensor(zeros: b.shape)
        Linear.backward(be, dy: fx.tensor("linear.dy"), x: x, weight: w, dx: dx, dWeight: dw, dBias: db)
        assertClose(dx.toArray(), fx.floats("linear.dx"), "linear dx")
        assertClose(dw.toArray(), fx.floats("linear.dw"), "linear dw")
        assertClose(db.toArray(), fx.floats("linear.db"), "linear db")
    }

    func testEmbeddingMatchesTorch() {
        var ids = fx.ints("embedding.ids")
        let n = ids.count
        let table = fx.tensor("embedding.table"), out = Tensor(zeros: [n, 4])
        ids.ptr { Embedding.forward(be, ids: $0, count: n, table: table, out: out.floats) }
        assertClose(out.toArray(), fx.floats("embedding.y"), "embedding y")
        var dy = fx.floats("embedding.dy"), dt = [Float](repeating: 0, count: table.count)
        ids.ptr { idp in dy.ptr { dyp in dt.ptr { Embedding.backward(be, ids: idp, count: n, dOut: dyp, dTable: $0, columns: 4) } } }
        assertClose(dt, fx.floats("embedding.dtable"), "embedding dtable")
    }

    func testLayerNormMatchesTorch() {
        var x = fx.floats("layernorm.x"), w = fx.floats("layernorm.w"), b = fx.floats("layernorm.b"), dy = fx.floats("layernorm.dy")
        var y = [Float](repeating: 0, count: x.count), mean = [Float](repeating: 0, count: 4), rstd = mean
        var dx = y, dw = [Float](repeating: 0, count: 8), db = dw
        x.ptr { xp in w.ptr { wp in b.ptr { bp in y.ptr { yp in mean.ptr { mp in rstd.ptr { rp in
            LayerNorm.forward(be, x: xp, weight: wp, bias: bp, y: yp, mean: mp, rstd: rp, rows: 4, columns: 8, eps: 1e-5)
            dy.ptr { dyp in dx.ptr { dxp in dw.ptr { dwp in db.ptr { dbp in
                LayerNorm.backward(be, dy: dyp, x: xp, weight: wp, mean: mp, rstd: rp, dx: dxp, dWeight: dwp, dBias: dbp, rows: 4, columns: 8)
            } } } }
        } } } } } }
        assertClose(y, fx.floats("layernorm.y"), "layernorm y")
        assertClose(dx, fx.floats("layernorm.dx"), "layernorm dx")
        assertClose(dw, fx.floats("layernorm.dw"), "layernorm dw")
        assertClose(db, fx.floats("layernorm.db"), "layernorm db")
    }

    func testRMSNormMatchesLlama() {
        var x = fx.floats("rmsnorm.x"), w = fx.floats("rmsnorm.w"), dy = fx.floats("rmsnorm.dy")
        var y = [Float](repeating: 0, count: x.count), rstd = [Float](repeating: 0, count: 4), dx = y, dw = [Float](repeating: 0, count: 8)
        x.ptr { xp in w.ptr { wp in y.ptr { yp in rstd.ptr { rp in
            RMSNorm.forward(be, x: xp, weight: wp, y: yp, rstd: rp, rows: 4, columns: 8, eps: 1e-6)
            dy.ptr { dyp in dx.ptr { dxp in dw.ptr { dwp in
                RMSNorm.backward(be, dy: dyp, x: xp, weight: wp, rstd: rp, dx: dxp, dWeight: dwp, rows: 4, columns: 8)
            } } }
        } } } }
        assertClose(y, fx.floats("rmsnorm.y"), "rmsnorm y")
        assertClose(dx, fx.floats("rmsnorm.dx"), "rmsnorm dx")
        assertClose(dw, fx.floats("rmsnorm.dw"), "rmsnorm dw")
    }

    func testActivationsMatchTorch() {
        for act in Activation.allCases {
            let name = "act_\(act == .geluTanh ? "gelu_new" : act.rawValue)"
            var x = fx.floats("\(name).x"), dy = fx.floats("\(name).dy")
            let n = x.count
            var y = [Float](repeating: 0, count: n), dx = y
            x.ptr { xp in
                y.ptr { act.forward(be, x: xp, y: $0, count: n) }
                dy.ptr { dyp in dx.ptr { act.backward(be, dy: dyp, x: xp, dx: $0, count: n) } }
            }
            assertClose(y, fx.floats("\(name).y"), "\(name) y")
            assertClose(dx, fx.floats("\(name).dx"), "\(name) dx")
        }
    }

    func testSwiGLUMatchesTorch() {
        var g = fx.floats("swiglu.gate"), u = fx.floats("swiglu.up"), dy = fx.floats("swiglu.dy")
        let n = g.count
        var y = [Float](repeating: 0, count: n), dg = y, du = y
        g.ptr { gp in u.ptr { up in
            y.ptr { GatedActivation.forward(be, .silu, gate: gp, up: up, y: $0, count: n) }
            dy.ptr { dyp in dg.ptr { dgp in du.ptr { GatedActivation.backward(be, .silu, dy: dyp, gate: gp, up: up, dGate: dgp, dUp: $0, count: n) } } }
        } }
        assertClose(y, fx.floats("swiglu.y"), "swiglu y")
        assertClose(dg, fx.floats("swiglu.dgate"), "swiglu dgate")
        assertClose(du, fx.floats("swiglu.dup"), "swiglu dup")
    }

    func testSoftmaxMatchesTorch() {
        var x = fx.floats("softmax.x"), dy = fx.floats("softmax.dy")
        var y = [Float](repeating: 0, count: x.count), dx = y
        x.ptr { xp in y.ptr { Softmax.forward(be, x: xp, y: $0, rows: 3, columns: 10) } }
        y.ptr { yp in dy.ptr { dyp in dx.ptr { Softmax.backward(be, dy: dyp, y: yp, dx: $0, rows: 3, columns: 10) } } }
        assertClose(y, fx.floats("softmax.y"), "softmax y")
        assertClose(dx, fx.floats("softmax.dx"), "softmax dx")
    }

    func testRotaryVariantsMatchTransformers() {
        for name in ["rope_default", "rope_linear", "rope_dynamic", "rope_llama3"] {
            let d = fx.setting(name, "head_dim") as! Int
            let scalingDict = fx.setting(name, "scaling") as! [String: Any]
            let factor = scalingDict["factor"] as? Double ?? 1
            let scaling: RopeScaling
            switch scalingDict["rope_type"] as! String {
            case "linear": scaling = .linear(factor: factor)
            case "dynamic": scaling = .dynamic(factor: factor)
            case "llama3":
                scaling = .llama3(factor: factor, lowFreqFactor: scalingDict["low_freq_factor"] as! Double,
                                  highFreqFactor: scalingDict["high_freq_factor"] as! Double,
                                  originalMaxPositionEmbeddings: scalingDict["original_max_position_embeddings"] as! Int)
            default: scaling = .none
            }
            let rope = RotaryEmbedding(headDim: d, theta: fx.setting(name, "theta") as! Double, scaling: scaling,
                                       maxPositionEmbeddings: fx.setting(name, "max_position_embeddings") as! Int)
            var pos = fx.ints("\(name).positions")
            let n = pos.count
            let (c, s): ([Float], [Float]) = pos.ptr { rope.tables(positions: $0, count: n) }
            var x = fx.floats("\(name).x"), dy = fx.floats("\(name).dy")
            x.ptr { rope.apply(be, $0, tokens: n, heads: 2, cos: c, sin: s) }
            dy.ptr { rope.apply(be, $0, tokens: n, heads: 2, cos: c, sin: s, inverse: true) }
            assertClose(x, fx.floats("\(name).y"), rtol: 2e-5, atol: 2e-6, "\(name) y")
            assertClose(dy, fx.floats("\(name).dx"), rtol: 2e-5, atol: 2e-6, "\(name) dx")
        }
    }

    func testAttentionMatchesTorchAcrossMasks() {
        for name in ["attn_padding", "attn_mha", "attn_packed", "attn_window", "attn_neo_unscaled", "attn_single_token", "attn_tiled"] {
            let sh = AttentionShape(batch: fx.setting(name, "batch") as! Int, seqLen: fx.setting(name, "seq_len") as! Int,
                                    queryHeads: fx.setting(name, "query_heads") as! Int, kvHeads: fx.setting(name, "kv_heads") as! Int,
                                    headDim: fx.setting(name, "head_dim") as! Int)
            let mask = AttentionMask(keyValid: fx.ints("\(name).key_valid").map { $0 != 0 },
                                     segmentIds: fx.has("\(name).segments") ? fx.ints("\(name).segments") : nil,
                                     window: fx.setting(name, "window") as? Int)
            let scale = Float(fx.setting(name, "scale") as! Double)
            var q = fx.floats("\(name).q"), k = fx.floats("\(name).k"), v = fx.floats("\(name).v"), dy = fx.floats("\(name).dy")
            var out = [Float](repeating: 0, count: q.count), lse = [Float](repeating: 0, count: sh.batch * sh.queryHeads * sh.seqLen)
            var dq = [Float](repeating: 0, count: q.count), dk = [Float](repeating: 0, count: k.count), dv = dk
            q.ptr { qp in k.ptr { kp in v.ptr { vp in out.ptr { op in lse.ptr { lp in
                Attention.forward(be, shape: sh, mask: mask, scale: scale, q: qp, k: kp, v: vp, out: op, lse: lp)
                dy.ptr { dyp in dq.ptr { dqp in dk.ptr { dkp in dv.ptr { dvp in
                    Attention.backward(be, shape: sh, mask: mask, scale: scale, q: qp, k: kp, v: vp, out: op, lse: lp, dOut: dyp,
                                       dq: dqp, dk: dkp, dv: dvp)
                } } } }
            } } } } }
            assertClose(out, fx.floats("\(name).y"), "\(name) out")
            assertClose(dq, fx.floats("\(name).dq"), "\(name) dq")
            assertClose(dk, fx.floats("\(name).dk"), "\(name) dk")
            assertClose(dv, fx.floats("\(name).dv"), "\(name) dv")
        }
    }

    func testFusedLinearCrossEntropyMatchesTorch() {
        let h = fx.tensor("cross_entropy.h"), w = fx.tensor("cross_entropy.w")
        var labels = fx.ints("cross_entropy.labels")
        for chunk in [1, 2, 256] {
            let dh = Tensor(zeros: h.shape), dw = Tensor(zeros: w.shape)
            let r = labels.ptr { LinearCrossEntropy.run(be, hidden: h, weight: w, labels: $0, chunkRows: chunk, gradScale: 1, dHidden: dh, dWeight: dw) }
            XCTAssertEqual(r.count, 6)
            XCTAssertEqual(Float(r.lossSum), fx.floats("cross_entropy.loss")[0], accuracy: 1e-5 * abs(fx.floats("cross_entropy.loss")[0]))
            assertClose(dh.toArray(), fx.floats("cross_entropy.dh"), "cross-entropy dh (chunk \(chunk))")
            assertClose(dw.toArray(), fx.floats("cross_entropy.dw"), "cross-entropy dw (chunk \(chunk))")
        }
    }
}
