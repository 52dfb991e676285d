import Foundation
import TensorCore
import Values

/// The decoder-only families sftrun trains, by HF `model_type`.
public enum ModelFamily: String, Sendable, CaseIterable {
    case llama, mistral, qwen2, gpt2, opt
    case gptNeo = "gpt_neo"
}

/// An HF config.json read into what the graph needs; unknown keys are kept in `raw` so export writes them back.
public struct DecoderConfig: Sendable {
    public var family: ModelFamily
    public var vocabSize: Int
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int
    public var intermediateSize: Int
    public var maxPositions: Int
    public var normEps: Double
    public var activation: Activation
    public var tieWordEmbeddings: Bool
    /// Rotary families only.
    public var ropeTheta: Double = 10000
    public var ropeScaling: RopeScaling = .none
    /// Per layer: the attention window (nil = full causal).
    public var windows: [Int?]
    /// Scores scaled by 1/√d (every family but GPT-Neo).
    public var scaleScores: Bool = true
    public var attentionBias: Bool = false
    public var outputBias: Bool = false
    public var mlpBias: Bool = false
    /// OPT-350m: embeddings of this width, projected in and out of the hidden size.
    public var wordEmbedProjDim: Int?
    /// false for OPT-350m (post-LN blocks).
    public var preNorm: Bool = true
    public var finalNorm: Bool = true
    /// Dropout on embeddings, residual branches (hidden) and attention probabilities, from the config.
    public var embeddingDropout: Double = 0
    public var hiddenDropout: Double = 0
    public var attentionDropout: Double = 0
    public var raw: Value

    /// Reads `config.json` in `directory`.
    public static func load(directory: URL) throws -> DecoderConfig {
        let url = directory.appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModelError(file: url.path, "no config.json; point model.name_or_path at a folder with config.json and weights")
        }
        let value: Value
        do { value = try JSON.parse(bytes: [UInt8](data)) } catch {
            throw ModelError(file: url.path, "not valid JSON (\(error))")
        }
        return try DecoderConfig(json: value, file: url.path)
    }

    public init(json c: Value, file: String = "config.json") throws {
        func int(_ k: String) throws -> Int {
            guard let v = c[k]?.intValue else { throw ModelError(file: file, "missing integer \"\(k)\"") }
            return v
        }
        func double(_ k: String, _ d: Double) -> Double { c[k]?.doubleValue ?? d }
        guard let type = c["model_type"]?.stringValue else {
            throw ModelError(file: file, "missing \"model_type\"; sftrun supports \(ModelFamily.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let family = ModelFamily(rawValue: type) else {
            throw ModelError(file: file, "model_type \"\(type)\" is not supported; sftrun supports \(ModelFamily.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        self.family = family
        raw = c
        func act(_ k: String, _ d: String) throws -> Activation {
            let name = c[k]?.stringValue ?? d
            guard let a = Activation(huggingFaceName: name) else {
                throw ModelError(file: file, "\(k) \"\(name)\" is not supported; use gelu, gelu_new, relu or silu")
            }
            return a
        }
        switch family {
        case .llama, .mistral, .qwen2:
            vocabSize = try int("vocab_size")
            hiddenSize = try int("hidden_size")
            layers = try int("num_hidden_layers")
            heads = try int("num_attention_heads")
            kvHeads = c["num_key_value_heads"]?.intValue ?? heads
            headDim = c["head_dim"]?.intValue ?? hiddenSize / heads
            intermediateSize = try int("intermediate_size")
            maxPositions = c["max_position_embeddings"]?.intValue ?? 2048
            normEps = double("rms_norm_eps", 1e-6)
            activation = try act("hidden_act", "silu")
            tieWordEmbeddings = c["tie_word_embeddings"]?.boolValue ?? (family == .qwen2)
            let rope = c["rope_parameters"] ?? c["rope_scaling"]
            ropeTheta = c["rope_theta"]?.doubleValue ?? rope?["rope_theta"]?.doubleValue ?? 10000
            ropeScaling = try Self.ropeScaling(rope, file: file)
            var window: Int? = c["sliding_window"]?.intValue
            if family == .qwen2, c["use_sliding_window"]?.boolValue != true { window = nil }
            windows = Array(repeating: window, count: layers)
            attentionBias = family == .qwen2 || c["attention_bias"]?.boolValue == true
            outputBias = c["attention_bias"]?.boolValue == true
            mlpBias = c["mlp_bias"]?.boolValue == true
            attentionDropout = double("attention_dropout", 0)
        case .gpt2:
            vocabSize = try int("vocab_size")
            hiddenSize = c["n_embd"]?.intValue ?? 768
            layers = c["n_layer"]?.intValue ?? 12
            heads = c["n_head"]?.intValue ?? 12
            kvHeads = heads
            headDim = hiddenSize / heads
            intermediateSize = c["n_inner"]?.intValue ?? 4 * hiddenSize
            maxPositions = c["n_positions"]?.intValue ?? 1024
            normEps = double("layer_norm_epsilon", 1e-5)
            activation = try act("activation_function", "gelu_new")
            tieWordEmbeddings = c["tie_word_embeddings"]?.boolValue ?? true
            windows = Array(repeating: nil, count: layers)
            attentionBias = true; outputBias = true; mlpBias = true
            embeddingDropout = double("embd_pdrop", 0.1)
            hiddenDropout = double("resid_pdrop", 0.1)
            attentionDropout = double("attn_pdrop", 0.1)
            if c["scale_attn_weights"]?.boolValue == false { scaleScores = false }
        case .opt:
            vocabSize = try int("vocab_size")
            hiddenSize = try int("hidden_size")
            layers = try int("num_hidden_layers")
            heads = try int("num_attention_heads")
            kvHeads = heads
            headDim = hiddenSize / heads
            intermediateSize = try int("ffn_dim")
            maxPositions = c["max_position_embeddings"]?.intValue ?? 2048
            normEps = 1e-5
            activation = try act("activation_function", "relu")
            tieWordEmbeddings = c["tie_word_embeddings"]?.boolValue ?? true
            windows = Array(repeating: nil, count: layers)
            let enable = c["enable_bias"]?.boolValue ?? true
            attentionBias = enable; outputBias = enable; mlpBias = enable
            let proj = c["word_embed_proj_dim"]?.intValue ?? hiddenSize
            wordEmbedProjDim = proj == hiddenSize ? nil : proj
            preNorm = c["do_layer_norm_before"]?.boolValue ?? true
            finalNorm = preNorm && !(c["_remove_final_layer_norm"]?.boolValue ?? false)
            hiddenDropout = double("dropout", 0.1)
            attentionDropout = double("attention_dropout", 0)
        case .gptNeo:
            vocabSize = try int("vocab_size")
            hiddenSize = try int("hidden_size")
            layers = try int("num_layers")
            heads = try int("num_heads")
            kvHeads = heads
            headDim = hiddenSize / heads
            intermediateSize = c["intermediate_size"]?.intValue ?? 4 * hiddenSize
            maxPositions = c["max_position_embeddings"]?.intValue ?? 2048
            normEps = double("layer_norm_epsilon", 1e-5)
            activation = try act("activation_function", "gelu_new")
            tieWordEmbeddings = c["tie_word_embeddings"]?.boolValue ?? true
            let windowSize = c["window_size"]?.intValue ?? 256
            var kinds: [String] = []
            for spec in c["attention_types"]?.arrayValue ?? [] {
                guard let pair = spec.arrayValue, let names = pair.first?.arrayValue?.compactMap(\.stringValue),
                      let times = pair.last?.intValue else { continue }
                for _ in 0..<times { kinds += names }
            }
            if let explicit = c["attention_layers"]?.arrayValue?.compactMap(\.stringValue), !explicit.isEmpty { kinds = explicit }
            guard kinds.count == layers else {
                throw ModelError(file: file, "attention_types give \(kinds.count) layers but num_layers is \(layers)")
            }
            windows = kinds.map { $0 == "local" ? windowSize : nil }
            scaleScores = false
            outputBias = true; mlpBias = true
            embeddingDropout = double("embed_dropout", 0)
            hiddenDropout = double("resid_dropout", 0)
            attentionDropout = double("attention_dropout", 0)
        }
        guard heads > 0, kvHeads > 0, heads % kvHeads == 0, hiddenSize > 0, layers > 0, vocabSize > 0 else {
            throw ModelError(file: file, "inconsistent sizes: \(heads) heads, \(kvHeads) kv heads, hidden \(hiddenSize), \(layers) layers, vocab \(vocabSize)")
        }
    }

    static func ropeScaling(_ v: Value?, file: String) throws -> RopeScaling {
        guard let v, let type = v["rope_type"]?.stringValue ?? v["type"]?.stringValue else { return .none }
        let factor = v["factor"]?.doubleValue ?? 1
        switch type {
        case "default": return .none
        case "linear": return .linear(factor: factor)
        case "dynamic": return .dynamic(factor: factor)
        case "llama3":
            return .llama3(factor: factor, lowFreqFactor: v["low_freq_factor"]?.doubleValue ?? 1,
                           highFreqFactor: v["high_freq_factor"]?.doubleValue ?? 4,
                           originalMaxPositionEmbeddings: v["original_max_position_embeddings"]?.intValue ?? 8192)
        default:
            throw ModelError(file: file, "rope type \"\(type)\" is not supported; use default, linear, dynamic or llama3")
        }
    }

    /// Parameters in the matrices (embeddings included once), for FLOP and memory estimates.
    public var matmulParameters: Int {
        let attn = hiddenSize * heads * headDim * 2 + hiddenSize * kvHeads * headDim * 2
        let mlp = hiddenSize * intermediateSize * (family.isGated ? 3 : 2)
        return layers * (attn + mlp) + vocabSize * (wordEmbedProjDim ?? hiddenSize)
    }
}

extension ModelFamily {
    /// SwiGLU families (gate, up, down).
    public var isGated: Bool { self == .llama || self == .mistral || self == .qwen2 }
    public var usesRotary: Bool { isGated }
}

/// A problem with model files, naming the file and the fix.
public struct ModelError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var message: String
    public init(file: String, _ message: String) { self.file = file; self.message = message }
    public var description: String { "\(file): \(message)" }
}
