import Foundation
import Models
import PEFT
import TensorCore
import Tokenization
import Values

/// Text generation from a model folder, .gguf file or Hub id (optionally with a LoRA adapter): greedy, or
/// sampling with temperature / top-k / top-p from a seed; stops at EOS, a stop string or `maxNewTokens`.
/// The prompt is prefilled into a KV cache and each new token is one cached decoding step.
public struct Generator {
    public var model: CausalLM
    public var tokenizer: Tokenizer
    public var chat: ChatFormat?

    public struct Options: Sendable {
        public var maxNewTokens = 64
        public var temperature = 0.0
        public var topK = 0
        public var topP = 1.0
        public var seed: UInt64 = 0
        public var stop: [String] = []
        public init() {}
    }

    /// `threads`: compute threads (0: all cores).
    public static func load(model path: String, adapter: String?, threads: Int = 0) throws -> Generator {
        let loaded = try ModelLoading.load(path: path, backend: CPUBackend(threads: threads))
        let folder = path.hasSuffix(".gguf") ? try GGUFTokenizer.folder(for: loaded.source) : loaded.source
        let tokenizer = try Tokenizer.load(directory: folder)
        if tokenizer.vocabSize > loaded.model.config.vocabSize { loaded.model.resizeTokenEmbeddings(to: tokenizer.vocabSize) }
        if let adapter { _ = try AdapterFile.load(directory: URL(fileURLWithPath: adapter), into: loaded.model) }
        var special: [String: String] = [:]
        if let b = tokenizer.bosToken { special["bos_token"] = b }
        if let e = tokenizer.eosToken { special["eos_token"] = e }
        let chat = try tokenizer.chatTemplate.map { try ChatFormat(source: $0, specialTokens: special) }
        return Generator(model: loaded.model, tokenizer: tokenizer, chat: chat)
    }

    /// Prompt ids: a chat rendered with the generation prompt (special tokens come from the template), or plain
    /// text with the tokenizer's special tokens.
    public func promptIds(text: String?, messages: [Value]?) throws -> [Int] {
        if let messages {
            guard let chat else { throw TrainingRunError("the tokenizer has no chat template; pass --prompt text instead of messages") }
            return tokenizer.encode(try chat.render(messages, addGenerationPrompt: true), addSpecialTokens: false).ids
        }
        return tokenizer.encode(text ?? "").ids
    }

    /// A prompt longer than a learned-position model's table (GPT-2, OPT, GPT-Neo) is an error here rather than an
    /// empty reply; rotary models have no fixed limit.
    public func checkPromptLength(_ prompt: [Int]) throws {
        if let limit = model.maxDecodePositions, prompt.count > limit {
            throw TrainingRunError("the prompt has \(prompt.count) tokens but the model reads at most \(limit) (max_position_embeddings); shorten the prompt (in a chat: /reset)")
        }
    }

    /// Generates after `prompt`; `emit` receives each new piece of text as it is decoded. With a `cache` that
    /// already holds a prefix of `prompt` (the previous chat turn), only the rest is prefilled; afterwards the cache
    /// holds the prompt and every generated token but the last. Learned-position models stop at their position
    /// table's end (a longer prompt gives nothing).
    public func generate(_ prompt: [Int], _ o: Options, cache: KVCache? = nil, emit: (String) -> Void = { _ in }) -> [Int] {
        let cache = cache ?? model.makeKVCache()
        let ids = prompt.map(Int32.init)
        guard !ids.isEmpty else { return [] }
        let limit = model.maxDecodePositions ?? Int.max
        guard ids.count <= limit else { return [] }
        cache.truncate(to: min(cache.commonPrefix(with: ids), ids.count - 1))
        var logits = model.decode(Array(ids[cache.count...]), cache: cache)
        var out: [Int] = []
        var rng = SplitMix64(seed: o.seed)
        var shown = ""
        let eos = Set([tokenizer.eosTokenId, model.config.raw["eos_token_id"]?.intValue].compactMap { $0 })
        while out.count < o.maxNewTokens {
            let next = o.temperature <= 0 ? Self.argmax(logits) : Self.sample(logits, o, &rng)
            if eos.contains(next) { break }
            out.append(next)
            let text = tokenizer.decodeText(out, skipSpecialTokens: true)
            if text.hasPrefix(shown), !text.hasSuffix("\u{FFFD}") {
                emit(String(text.dropFirst(shown.count)))
                shown = text
            }
            if o.stop.contains(where: { text.hasSuffix($0) }) { break }
            if out.count == o.maxNewTokens || cache.count >= limit { break }
            logits = model.decode([Int32(next)], cache: cache)
        }
        return out
    }

    static func argmax(_ l: [Float]) -> Int {
        var best = 0
        for i in 1..<l.count where l[i] > l[best] { best = i }
        return best
    }

    /// Temperature, then top-k, then top-p (nucleus) as transformers' logits warpers apply them.
    static func sample(_ logits: [Float], _ o: Options, _ rng: inout SplitMix64) -> Int {
        var pairs = logits.enumerated().map { ($0.offset, Double($0.element) / o.temperature) }.sorted { $0.1 > $1.1 }
        if o.topK > 0 { pairs = Array(pairs.prefix(o.topK)) }
        let m = pairs[0].1
        var probs = pairs.map { Foundation.exp($0.1 - m) }
        let total = probs.reduce(0, +)
        probs = probs.map { $0 / total }
        if o.topP < 1 {
            var cum = 0.0, keep = 0
            for p in probs { cum += p; keep += 1; if cum >= o.topP { break } }
            pairs = Array(pairs.prefix(keep))
            let s = probs.prefix(keep).reduce(0, +)
            probs = probs.prefix(keep).map { $0 / s }
        }
        var u = rng.nextUnit(), i = 0
        while i < probs.count - 1 && u >= probs[i] { u -= probs[i]; i += 1 }
        return pairs[i].0
    }
}

struct TrainingRunError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
