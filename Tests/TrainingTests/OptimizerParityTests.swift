import XCTest
import Values
import TestSupport
@testable import Training

/// Schedules and optimizers against torch 2.15 / transformers 5.24 (fixture from scripts/make_training_fixtures.py).
final class OptimizerParityTests: XCTestCase {
    lazy var fixture: [String: Any] = {
        let url = TestSupport.packageRoot.appendingPathComponent("Tests/TrainingTests/Fixtures/optim.json")
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()

    func testEveryScheduleMatchesTransformersToDoublePrecision() {
        for case let s as [String: Any] in fixture["schedules"] as! [Any] {
            let kwargs = s["kwargs"] as! [String: Double]
            let kind = LearningRateSchedule.Kind(rawValue: s["name"] as! String)!
            let peak = s["base_lr"] as! Double
            let schedule = LearningRateSchedule(
                kind: kind, peak: peak, warmupSteps: s["warmup"] as! Int, totalSteps: s["total"] as! Int,
                numCycles: kwargs["num_cycles"] ?? 0.5, minLRRate: kwargs["min_lr_rate"] ?? (kwargs["min_lr"].map { $0 / peak } ?? 0),
                power: kwargs["power"] ?? 1, lrEnd: kwargs["lr_end"] ?? 1e-7)
            for (step, expected) in (s["lrs"] as! [Double]).enumerated() {
                XCTAssertEqual(schedule.learningRate(at: step), expected, accuracy: 1e-15, "\(kind) \(kwargs) W=\(schedule.warmupSteps) T=\(schedule.totalSteps) step \(step)")
            }
        }
    }

    func testFirstWarmupStepRunsWithZeroLearningRate() {
        let s = LearningRateSchedule(kind: .linear, peak: 1, warmupSteps: 2, totalSteps: 10)
        XCTAssertEqual((0..<10).map { s.learningRate(at: $0) }, [0, 0.5, 1, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125])
        XCTAssertEqual(LearningRateSchedule.warmupSteps(steps: 0, ratio: 0.03, total: 100), 3)
        XCTAssertEqual(LearningRateSchedule.warmupSteps(steps: 5, ratio: 0.5, total: 100), 5)
    }

    func testAdamWAndSGDTrajectoriesWithClippingMatchTorch() {
        for case let o as [String: Any] in fixture["optimizers"] as! [Any] {
            let cfg = o["config"] as! [String: Any]
            var params = (o["initial"] as! [Double]).map(Float.init)
            let grads = (o["grads"] as! [[Double]]).map { $0.map(Float.init) }
            let expectedNorms = o["pre_clip_norms"] as! [Double]
            let expected = o["params_after_each_step"] as! [[Double]]
            var optimizer: any Optimizer
            if o["optim"] as! String == "adamw" {
                let betas = cfg["betas"] as! [Double]
                optimizer = AdamW(beta1: betas[0], beta2: betas[1], epsilon: cfg["eps"] as! Double, weightDecay: cfg["weight_decay"] as! Double)
            } else {
                optimizer = SGD(momentum: cfg["momentum"] as! Double, weightDecay: cfg["weight_decay"] as! Double)
            }
            for (step, g) in grads.enumerated() {
                var grad = g
                params.withUnsafeMutableBufferPointer { p in
                    grad.withUnsafeMutableBufferPointer { gp in
                        let slot = ParameterSlot(values: p, gradient: gp)
                        let norm = clipGradientNorm([slot], maxNorm: 1.0)
                        XCTAssertEqual(norm, expectedNorms[step], accuracy: 1e-5 * expectedNorms[step])
                        optimizer.step([slot], lr: cfg["lr"] as! Double)
                    }
                }
                for (a, b) in zip(params, expected[step]) {
                    XCTAssertEqual(Double(a), b, accuracy: 1e-6 + 1e-5 * abs(b), "\(o["optim"]!) step \(step + 1)")
                }
            }
        }
    }

    func testNoDecayGroupIsLeftUndecayed() {
        var p: [Float] = [1, 1], g: [Float] = [0, 0]
        var opt = AdamW(weightDecay: 0.5)
        p.withUnsafeMutableBufferPointer { pp in
            g.withUnsafeMutableBufferPointer { gp in
                opt.step([ParameterSlot(values: pp, gradient: gp, decays: false)], lr: 0.1)
            }
        }
        XCTAssertEqual(p, [1, 1])
    }
}
