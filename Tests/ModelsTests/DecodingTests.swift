import Foundation
import TestSupport
import WeightFiles
import XCTest
@testable import Models
@testable import TensorCore

/// Cached decoding against the full recompute (`nextTokenLogits`) on the tiny fixture models
/// (scripts/make_model_fixtures.py): every step's logits within 1e-5, past the sliding/local windows (3) of
/// mistral and gpt_neo, with rope scaling, after a chunked prefill, after truncation, and with an adapter.
final class DecodingTests: XCTestCase {
    let be = CPUBackend(threads: 2)

    func load(_ name: String, ropeScaling: RopeScaling? = nil) throws -> CausalLM {
        let dir = TestSupport.packageRoot.appendingPathComponent("Tests/ModelsTests/Fixtures/\(name)")
        var config = try DecoderConfig.load(directory: dir)
        if let ropeScaling { config.ropeScaling = ropeScaling }
        let model = CausalLM(config: config, backend: be)
        _ = try ModelCheckpoint.load(model, from: try weightSource(directory: dir))
        return model
    }

    /// A fixed pseudo-random sequence of ids inside the vocabulary.
    func sequence(_ model: CausalLM, _ count: Int, seed: UInt64 = 5) -> [Int32] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in Int32(rng.next() % UInt64(model.config.vocabSize)) }
    }

    /// Prefill `prompt` tokens, then feed the rest one by one; each step's logits against the full recompute.
    func checkSteps(_ model: CausalLM, _ ids: [Int32], prompt: Int, _ label: String) {
        let cache = model.makeKVCache()
        assertClose(model.decode(Array(ids[..<prompt]), cache: cache), model.nextTokenLogits(Array(ids[..<prompt])),
                    rtol: 0, atol: 1e-5, "\(label) prefill")
        for t in prompt..<ids.count {
            let cached = model.decode([ids[t]], cache: cache)
            assertClose(cached, model.nextTokenLogits(Array(ids[...t])), rtol: 0, atol: 1e-5, "\(label) step \(t)")
        }
        XCTAssertEqual(cache.count, ids.count)
        XCTAssertEqual(cache.tokens, ids)
    }

    func testCachedStepsMatchFullRecomputeForEveryFamily() throws {
        for name in ModelParityTests.families {
            let model = try load(name)
            let ids = sequence(model, 20)
            checkSteps(model, ids, prompt: 5, name)
            checkSteps(model, ids, prompt: 1, "\(name) from one token")
        }
    }

    func testRopeScaling() throws {
        let scalings: [RopeScaling] = [.linear(factor: 2), .dynamic(factor: 2),
                                       .llama3(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8)]
        for scaling in scalings {
            let model = try load("llama", ropeScaling: scaling)
            // Dynamic scaling changes every frequency once positions pass max_position_embeddings (32); stay below.
            checkSteps(model, sequence(model, 24), prompt: 4, "llama \(scaling)")
        }
    }

    /// A second prompt chunk after cached positions (a chat turn), and truncation back to a shared prefix.
    func testChunkedPrefillAndTruncate() throws {
        for name in ["mistral", "gpt_neo", "opt", "gpt2"] {
            let model = try load(name)
            let ids = sequence(model, 16, seed: 9)
            let cache = model.makeKVCache()
            _ = model.decode(Array(ids[..<4]), cache: cache)
            assertClose(model.decode(Array(ids[4..<11]), cache: cache), model.nextTokenLogits(Array(ids[..<11])),
                        rtol: 0, atol: 1e-5, "\(name) second chunk")
            cache.truncate(to: 6)
            XCTAssertEqual(cache.commonPrefix(with: ids), 6)
            assertClose(model.decode(Array(ids[6..<16]), cache: cache), model.nextTokenLogits(ids),
                        rtol: 0, atol: 1e-5, "\(name) after truncate")
            cache.reset()
            XCTAssertEqual(cache.count, 0)
        }
    }

    /// An adapter on every projection is applied on the cached path too (it changes the logits, and equally).
    func testAdaptersRunOnTheCachedPath() throws {
        let model = try load("qwen2")
        let ids = sequence(model, 10)
        let before = model.nextTokenLogits(ids)
        for layer in model.linearLayers { layer.adapter = ShiftAdapter() }
        let after = model.nextTokenLogits(ids)
        XCTAssertGreaterThan(zip(before, after).map { abs($0 - $1) }.max() ?? 0, 1e-3, "the adapter changes the logits")
        checkSteps(model, ids, prompt: 3, "qwen2 with adapters")
    }
}

/// y += 0.01·Σx on every output: cheap, position-dependent, and visible in the logits.
final class ShiftAdapter: LinearAdapter {
    func forward(_ x: Tensor, into y: Tensor, _ ctx: StepContext) {
        XCTAssertFalse(ctx.save, "inference keeps nothing for backward")
        let inF = x.shape.last!, outF = y.shape.last!, rows = x.count / inF
        for r in 0..<rows {
            var s: Float = 0
            for i in 0..<inF { s += x.floats[r * inF + i] }
            for o in 0..<outF { y.floats[r * outF + o] += 0.01 * s }
        }
    }

    func backward(_ dy: Tensor, _ ctx: StepContext, dx: Tensor?) {}
}
