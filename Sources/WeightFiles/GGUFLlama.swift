import Values

/// A llama-architecture GGUF seen as a Hugging Face LlamaForCausalLM checkpoint: config.json keys, tensor names, and
/// q/k rows back in Hugging Face's rotary order (llama.cpp's converter interleaves them; transformers' GGUF loader
/// undoes it with `reverse_permute_weights`, matched here exactly).
public enum GGUFLlama {
    /// A dequantized tensor under its Hugging Face name, row-major.
    public struct Tensor: Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        public var values: [Float]
    }

    /// The tokenizer metadata llama.cpp stores (no tokenizer.json is synthesised; a tokenizer is built from these).
    public struct TokenizerMetadata: Sendable, Equatable {
        /// `tokenizer.ggml.model`: "gpt2" for byte-level BPE, "llama" for SentencePiece.
        public var model: String
        public var tokens: [String]
        public var merges: [String]?
        /// `tokenizer.ggml.token_type`: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
        public var tokenTypes: [Int]?
        public var scores: [Double]?
        public var bosTokenID: Int?
        public var eosTokenID: Int?
        public var paddingTokenID: Int?
        public var unknownTokenID: Int?
        public var addBOS: Bool?
        public var addEOS: Bool?
        public var preTokenizer: String?
        public var chatTemplate: String?
    }

    static func fail(_ f: GGUFFile, _ m: String) -> WeightFileError { WeightFileError(file: f.url.path, m) }

    static func requireLlama(_ f: GGUFFile) throws {
        guard let arch = f.string("general.architecture") else {
            throw fail(f, "general.architecture is missing; the file is not a llama.cpp model, convert it again")
        }
        guard arch == "llama" else {
            throw fail(f, "general.architecture is \"\(arch)\", only \"llama\" maps to Hugging Face names here; use a llama-architecture model")
        }
    }

    static func requireInt(_ f: GGUFFile, _ key: String) throws -> Int {
        guard let v = f.int(key), v > 0 else { throw fail(f, "\(key) is missing or not a positive integer; the file is incomplete, convert it again") }
        return v
    }

    /// Attention shape from the metadata: (heads, kv heads, head dim).
    static func heads(_ f: GGUFFile) throws -> (Int, Int, Int) {
        let hidden = try requireInt(f, "llama.embedding_length")
        let nHead = try requireInt(f, "llama.attention.head_count")
        let nKV = f.int("llama.attention.head_count_kv") ?? nHead
        guard nKV > 0, nHead % nKV == 0 else {
            throw fail(f, "llama.attention.head_count \(nHead) is not a multiple of head_count_kv \(nKV); the file is corrupt")
        }
        let headDim = f.int("llama.attention.key_length") ?? f.int("llama.rope.dimension_count") ?? hidden / nHead
        return (nHead, nKV, headDim)
    }

    /// A transformers LlamaConfig as a JSON object (keys as config.json spells them).
    public static func huggingFaceConfig(_ f: GGUFFile) throws -> Value {
        try requireLlama(f)
        let (nHead, nKV, headDim) = try heads(f)
        guard let eps = f.double("llama.attention.layer_norm_rms_epsilon") else {
            throw fail(f, "llama.attention.layer_norm_rms_epsilon is missing; the file is incomplete, convert it again")
        }
        if let scaling = f.string("llama.rope.scaling.type"), scaling != "none" {
            throw fail(f, "llama.rope.scaling.type is \"\(scaling)\", which is not mapped to a Hugging Face rope_scaling yet; use a model without rope scaling")
        }
        let vocab = try f.int("llama.vocab_size") ?? f.strings("tokenizer.ggml.tokens")?.count ?? f.info("token_embd.weight").shape.first ?? 0
        var c: Value = .null
        func set(_ k: String, _ v: Value) { c.setValue(v, at: [.key(k)]) }
        set("architectures", ["LlamaForCausalLM"])
        set("model_type", "llama")
        set("hidden_size", .int(try requireInt(f, "llama.embedding_length")))
        set("intermediate_size", .int(try requireInt(f, "llama.feed_forward_length")))
        set("num_hidden_layers", .int(try requireInt(f, "llama.block_count")))
        set("num_attention_heads", .int(nHead))
        set("num_key_value_heads", .int(nKV))
        set("head_dim", .int(headDim))
        set("max_position_embeddings", .int(try requireInt(f, "llama.context_length")))
        set("rms_norm_eps", .double(eps))
        set("rope_theta", .double(f.double("llama.rope.freq_base") ?? 10000))
        set("vocab_size", .int(vocab))
        set("tie_word_embeddings", .bool(!f.hasTensor("output.weight")))
        set("bos_token_id", f.int("tokenizer.ggml.bos_token_id").map { .int($0) } ?? .null)
        set("eos_token_id", f.int("tokenizer.ggml.eos_token_id").map { .int($0) } ?? .null)
        if let pad = f.int("tokenizer.ggml.padding_token_id") { set("pad_token_id", .int(pad)) }
        set("hidden_act", "silu")
        set("attention_bias", .bool(f.hasTensor("blk.0.attn_q.bias")))
        set("mlp_bias", .bool(f.hasTensor("blk.0.ffn_gate.bias")))
        set("torch_dtype", "float32")
        return c
    }

    static let blockNames: [String: String] = [
        "attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
        "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm",
        "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj",
    ]

    /// The Hugging Face name of a llama.cpp tensor name, or nil for a name with no LlamaForCausalLM counterpart.
    public static func huggingFaceName(_ gguf: String) -> String? {
        switch gguf {
        case "token_embd.weight": return "model.embed_tokens.weight"
        case "output_norm.weight": return "model.norm.weight"
        case "output.weight": return "lm_head.weight"
        default: break
        }
        let parts = gguf.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "blk", let n = Int(parts[1]), n >= 0, String(n) == parts[1],
              let hf = blockNames[String(parts[2])], parts[3] == "weight" || parts[3] == "bias" else { return nil }
        return "model.layers.\(n).\(hf).\(parts[3])"
    }

    /// One tensor, dequantized, renamed, and for q/k un-permuted.
    public static func huggingFaceTensor(_ f: GGUFFile, gguf name: String) throws -> Tensor {
        try requireLlama(f)
        guard let hf = huggingFaceName(name) else {
            throw fail(f, "tensor \"\(name)\" has no Hugging Face LlamaForCausalLM counterpart; the model has parts this loader does not map")
        }
        let info = try f.info(name)
        var values = try f.floats(name)
        let isQ = name.hasSuffix(".attn_q.weight") || name.hasSuffix(".attn_q.bias")
        let isK = name.hasSuffix(".attn_k.weight") || name.hasSuffix(".attn_k.bias")
        if isQ || isK {
            let (nHead, nKV, _) = try heads(f)
            values = try reversePermute(values, shape: info.shape, heads: isQ ? nHead : nKV, file: f, name: name)
        }
        return Tensor(name: hf, shape: info.shape, values: values)
    }

    /// Every tensor in file order, under Hugging Face names.
    public static func huggingFaceTensors(_ f: GGUFFile) throws -> [Tensor] {
        try f.tensors.map { try huggingFaceTensor(f, gguf: $0.name) }
    }

    /// transformers' `reverse_permute_weights`: GGUF row h·D + 2j + i becomes row h·D + i·(D/2) + j, D = rows / heads.
    static func reversePermute(_ w: [Float], shape: [Int], heads: Int, file f: GGUFFile, name: String) throws -> [Float] {
        guard let rows = shape.first, heads > 0, rows % (2 * heads) == 0 else {
            throw fail(f, "tensor \"\(name)\" has \(shape.first ?? 0) rows, not a multiple of 2 × \(heads) heads; head counts and shapes disagree, the file is corrupt")
        }
        let cols = rows == 0 ? 0 : w.count / rows
        let d = rows / heads, half = d / 2
        var out = [Float](repeating: 0, count: w.count)
        w.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for h in 0..<heads {
                    for i in 0..<2 {
                        for j in 0..<half {
                            let from = (h * d + 2 * j + i) * cols, to = (h * d + i * half + j) * cols
                            for k in 0..<cols { dst[to + k] = src[from + k] }
                        }
                    }
                }
            }
        }
        return out
    }

    public static func tokenizerMetadata(_ f: GGUFFile) throws -> TokenizerMetadata {
        guard let model = f.string("tokenizer.ggml.model") else {
            throw fail(f, "tokenizer.ggml.model is missing; the file carries no tokenizer, load one from the original model")
        }
        guard let tokens = f.strings("tokenizer.ggml.tokens") else {
            throw fail(f, "tokenizer.ggml.tokens is missing or not an array of strings; the file is incomplete, convert it again")
        }
        return TokenizerMetadata(
            model: model, tokens: tokens, merges: f.strings("tokenizer.ggml.merges"), tokenTypes: f.ints("tokenizer.ggml.token_type"),
            scores: f.doubles("tokenizer.ggml.scores"), bosTokenID: f.int("tokenizer.ggml.bos_token_id"),
            eosTokenID: f.int("tokenizer.ggml.eos_token_id"), paddingTokenID: f.int("tokenizer.ggml.padding_token_id"),
            unknownTokenID: f.int("tokenizer.ggml.unknown_token_id"), addBOS: f.bool("tokenizer.ggml.add_bos_token"),
            addEOS: f.bool("tokenizer.ggml.add_eos_token"), preTokenizer: f.string("tokenizer.ggml.pre"),
            chatTemplate: f.string("tokenizer.chat_template"))
    }
}
