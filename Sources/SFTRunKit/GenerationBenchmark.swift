import Foundation
import Models
import Values

/// `sftrun bench generate`: greedy generation at batch 1 through the KV cache, timed in two parts as
/// scripts/bench/transformers_generate.py times transformers: the prefill (the prompt's forward, which yields the
/// first new token) and the decode steps (one forward per further token). EOS does not stop it, so both sides
/// always make exactly `maxNewTokens` tokens.
public enum GenerationBenchmark {
    public struct Result: Sendable {
        public var promptTokens: Int
        public var newTokens: Int
        public var prefillSeconds: Double
        public var decodeSeconds: Double
        public var prefillTokensPerSecond: Double { Double(promptTokens) / prefillSeconds }
        /// Decode steps (new tokens after the first) per second.
        public var decodeTokensPerSecond: Double { Double(max(0, newTokens - 1)) / decodeSeconds }
        public var newIds: [Int]

        /// One JSON line, the keys the transformers script prints too.
        public func json(model: String, threads: Int) -> String {
            JSON.serialize([
                "bench": "generate", "implementation": "sftrun", "model": .string(model), "threads": .int(threads),
                "prompt_tokens": .int(promptTokens), "new_tokens": .int(newTokens),
                "prefill_seconds": .double(prefillSeconds), "prefill_tokens_per_second": .double(prefillTokensPerSecond),
                "decode_seconds": .double(decodeSeconds), "decode_tokens_per_second": .double(decodeTokensPerSecond),
            ])
        }
    }

    public static func run(_ g: Generator, prompt: String, maxNewTokens: Int) throws -> Result {
        let ids = g.tokenizer.encode(prompt).ids.map(Int32.init)
        guard !ids.isEmpty, maxNewTokens > 0 else { throw TrainingRunError("the prompt has no tokens or --max-new-tokens is below 1") }
        if let limit = g.model.maxDecodePositions, ids.count + maxNewTokens > limit {
            throw TrainingRunError("\(ids.count) prompt + \(maxNewTokens) new tokens pass the model's \(limit) positions; shorten the prompt or --max-new-tokens")
        }
        let cache = g.model.makeKVCache()
        let t0 = DispatchTime.now().uptimeNanoseconds
        var next = Generator.argmax(g.model.decode(ids, cache: cache))
        let t1 = DispatchTime.now().uptimeNanoseconds
        var out = [next]
        while out.count < maxNewTokens {
            next = Generator.argmax(g.model.decode([Int32(next)], cache: cache))
            out.append(next)
        }
        let t2 = DispatchTime.now().uptimeNanoseconds
        return Result(promptTokens: ids.count, newTokens: out.count, prefillSeconds: Double(t1 - t0) / 1e9,
                      decodeSeconds: Double(t2 - t1) / 1e9, newIds: out)
    }
}
