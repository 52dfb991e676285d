import Foundation
import Models
import TensorCore

/// Which biases train alongside the adapters (peft's `bias`).
public enum LoRABias: String, Sendable, CaseIterable {
    /// Every base parameter stays frozen.
    case none
    /// Every bias of the model trains (peft: any parameter named `bias` or `*.bias`, norms included).
    case all
    /// Only the biases of the wrapped linear layers train.
    case loraOnly = "lora_only"
}

/// Which linear layers get an adapter (peft's `target_modules`).
public enum LoRATargets: Sendable, Equatable {
    /// peft's `"all-linear"`: every linear layer of the model except the output head.
    case allLinear
    /// Module names: a layer matches when its path equals a name or ends in `.name` (`q_proj`, `self_attn.q_proj`).
    case names([String])
    /// A regular expression that must match the whole module path (peft's string form).
    case pattern(String)
    /// peft's per-architecture default (TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING), used when
    /// target_modules is unset.
    case architectureDefault
}

/// Everything adapter_config.json records about a LoRA setup.
public struct LoRAConfig: Sendable, Equatable {
    public var r: Int
    public var alpha: Double
    public var dropout: Double
    public var targets: LoRATargets
    public var useRSLoRA: Bool
    public var bias: LoRABias
    /// Modules trained in full and saved whole in the adapter file (`lm_head`, `embed_tokens`, a norm, ...).
    public var modulesToSave: [String]
    /// peft's `ensure_weight_tying`: on a tied model, an `embed_tokens`/`lm_head` entry of modules_to_save trains the
    /// one shared matrix (head and embedding stay tied) instead of untied copies.
    public var ensureWeightTying: Bool
    public var initWeights: LoRAInit
    public var seed: UInt64

    public init(r: Int, alpha: Double, dropout: Double = 0, targets: LoRATargets = .architectureDefault, useRSLoRA: Bool = false,
                bias: LoRABias = .none, modulesToSave: [String] = [], ensureWeightTying: Bool = false, initWeights: LoRAInit = .standard,
                seed: UInt64 = 0) {
        self.r = r
        self.alpha = alpha
        self.dropout = dropout
        self.targets = targets
        self.useRSLoRA = useRSLoRA
        self.bias = bias
        self.modulesToSave = modulesToSave
        self.ensureWeightTying = ensureWeightTying
        self.initWeights = initWeights
        self.seed = seed
    }

    /// alpha / r, or alpha / √r with rank-stabilized LoRA.
    public var scaling: Double { useRSLoRA ? alpha / Double(r).squareRoot() : alpha / Double(r) }
}

/// Adds LoRA adapters to a model the way peft's `get_peft_model(model, LoraConfig(...))` does.
public enum LoRA {
    public typealias Targets = LoRATargets

    /// peft 0.21's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING for the families sftrun runs.
    public static func defaultTargets(_ family: ModelFamily) -> [String] {
        switch family {
        case .gpt2: return ["c_attn"]
        case .llama, .mistral, .qwen2, .opt, .gptNeo: return ["q_proj", "v_proj"]
        }
    }

    /// The recipe-level form: `bias` is peft's string ("none", "all", "lora_only").
    public static func apply(to model: CausalLM, r: Int, alpha: Double, dropout: Double, targets: LoRATargets,
                             useRSLoRA: Bool, bias: String, seed: UInt64, modulesToSave: [String] = [],
                             initWeights: LoRAInit = .standard) throws -> [LoRALinear] {
        guard let b = LoRABias(rawValue: bias) else {
            throw LoRAError("lora bias", "\"\(bias)\" is not a bias mode; use one of \(LoRABias.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return try apply(to: model, LoRAConfig(r: r, alpha: alpha, dropout: dropout, targets: targets, useRSLoRA: useRSLoRA,
                                               bias: b, modulesToSave: modulesToSave, initWeights: initWeights, seed: seed))
    }

    /// Wraps the target layers, freezes every base parameter and makes the adapters (plus the biases and
    /// modules_to_save the config names) trainable. Returns the adapters in `model.linearLayers` order.
    public static func apply(to model: CausalLM, _ config: LoRAConfig) throws -> [LoRALinear] {
        guard config.r > 0 else { throw LoRAError("lora r", "r is \(config.r); the rank must be a positive integer") }
        guard config.dropout >= 0, config.dropout < 1 else {
            throw LoRAError("lora dropout", "\(config.dropout) is not a probability in [0, 1)")
        }
        let layers = model.linearLayers
        if let wrapped = layers.first(where: { $0.adapter != nil }) {
            throw LoRAError(wrapped.modulePath, "already has an adapter; apply LoRA once per model")
        }
        // A module in modules_to_save is trained whole, so it gets no adapter (peft's wrapper takes precedence).
        let targets = try matchingLayers(layers, config.targets, family: model.config.family)
            .filter { t in !config.modulesToSave.contains { matches(t.layer.modulePath, $0) } }
        guard !targets.isEmpty else {
            throw LoRAError("target_modules", "Target modules \(describe(config.targets, family: model.config.family)) not found in the base model; "
                + "its linear modules are: \(layers.map(\.modulePath).joined(separator: ", "))")
        }
        if tiedModuleIsSaved(model, config.modulesToSave), !keepsTying(model, config) { model.untieHead() }
        let saved = try modulesToSaveParameters(model, config.modulesToSave)
        for p in model.params.all { p.setTrainable(false) }
        let adapters = targets.map { t in
            LoRALinear(base: t.layer, r: config.r, alpha: config.alpha, dropout: config.dropout, useRSLoRA: config.useRSLoRA,
                       initWeights: config.initWeights, seed: config.seed, index: t.index)
        }
        for (a, t) in zip(adapters, targets) { t.layer.adapter = a }
        switch config.bias {
        case .none: break
        case .all: for p in model.params.all where p.name.hasSuffix(".bias") || p.name == "bias" { p.setTrainable(true) }
        case .loraOnly: for a in adapters { a.baseBias?.setTrainable(true) }
        }
        for p in saved { p.setTrainable(true) }
        return adapters
    }

    /// Folds every adapter into its base weight and detaches it; afterwards the model saves as a plain HF checkpoint.
    public static func merge(_ adapters: [LoRALinear], into model: CausalLM) throws {
        let layers = model.linearLayers
        let owners = try adapters.map { a -> LinearLayer in
            guard let layer = layers.first(where: { $0.adapter === a }) else {
                throw LoRAError(a.modulePath, "this adapter is not applied to the model; merge it into the model it was applied to")
            }
            return layer
        }
        for (a, layer) in zip(adapters, owners) {
            try a.fold(backend: model.backend)
            layer.adapter = nil
        }
    }

    /// What the optimizer updates: the model's trainable parameters (biases, modules_to_save) and the adapters'
    /// A and B, which live outside `model.params` so a plain checkpoint save never includes them.
    public static func trainableParameters(_ model: CausalLM, _ adapters: [LoRALinear]) -> [Parameter] {
        adapters.flatMap { [$0.loraA, $0.loraB] } + model.params.trainable
    }

    /// The module a parameter belongs to: its name without the last component (`lm_head.weight` → `lm_head`).
    static func modulePath(of name: String) -> String {
        guard let dot = name.lastIndex(of: ".") else { return "" }
        return String(name[..<dot])
    }

    /// peft's rule for a listed module name: the path equals it or ends in `.name`.
    static func matches(_ path: String, _ name: String) -> Bool { path == name || path.hasSuffix("." + name) }

    static func matchingLayers(_ layers: [LinearLayer], _ targets: LoRATargets, family: ModelFamily) throws -> [(index: Int, layer: LinearLayer)] {
        let indexed = layers.enumerated().map { (index: $0.offset, layer: $0.element) }
        switch targets {
        case .allLinear: return indexed
        case .architectureDefault:
            let names = defaultTargets(family)
            return indexed.filter { t in names.contains { matches(t.layer.modulePath, $0) } }
        case .names(let names):
            return indexed.filter { t in names.contains { matches(t.layer.modulePath, $0) } }
        case .pattern(let pattern):
            let regex: NSRegularExpression
            do { regex = try NSRegularExpression(pattern: pattern) } catch {
                throw LoRAError("target_modules", "\"\(pattern)\" is not a valid regular expression (\(error.localizedDescription))")
            }
            return indexed.filter { t in
                let path = t.layer.modulePath, whole = NSRange(path.startIndex..<path.endIndex, in: path)
                return regex.firstMatch(in: path, options: [.anchored], range: whole).map { $0.range == whole } ?? false
            }
        }
    }

    static func describe(_ targets: LoRATargets, family: ModelFamily) -> String {
        switch targets {
        case .allLinear: return "all-linear"
        case .architectureDefault: return "\(defaultTargets(family)) (the \(family.rawValue) default)"
        case .names(let n): return "\(n)"
        case .pattern(let p): return "\"\(p)\""
        }
    }

    /// Whether modules_to_save names `lm_head` or the token embedding of a model whose two are tied. peft 0.21
    /// (with its default `ensure_weight_tying: false`) then wraps each named module in a ModulesToSaveWrapper that
    /// trains a deep copy, so the trained head and embedding no longer share a tensor: training `lm_head` leaves the
    /// embedding frozen, training `embed_tokens` leaves the head at the base values, and a merged model is untied.
    public static func tiedModuleIsSaved(_ model: CausalLM, _ names: [String]) -> Bool {
        guard model.architecture.head == nil else { return false }
        let embedding = modulePath(of: model.architecture.tokenEmbedding.name)
        return names.contains { matches("lm_head", $0) || matches(embedding, $0) }
    }

    /// Whether a tied model stays tied: peft's `ensure_weight_tying` with a modules_to_save entry whose last component
    /// is `embed_tokens` or `lm_head` (its EMBEDDING_LAYER_NAMES). peft then trains the embedding's copy and points
    /// lm_head at it; for any other name it warns and trains untied copies.
    public static func keepsTying(_ model: CausalLM, _ config: LoRAConfig) -> Bool {
        model.architecture.head == nil && config.ensureWeightTying
            && config.modulesToSave.contains { ["embed_tokens", "lm_head"].contains($0.split(separator: ".").last.map(String.init) ?? "") }
    }

    /// modules_to_save as peft 0.21 saves it when it keeps the weights tied (`_add_modules_to_save_to_tie`): the
    /// embedding's full module path appended, then the first entry naming lm_head removed.
    public static func savedModulesToSave(_ model: CausalLM, _ config: LoRAConfig) -> [String] {
        guard keepsTying(model, config) else { return config.modulesToSave }
        var names = config.modulesToSave
        let embedding = modulePath(of: model.architecture.tokenEmbedding.name)
        if !names.contains(embedding) { names.append(embedding) }
        if let i = names.firstIndex(where: { matches("lm_head", $0) }) { names.remove(at: i) }
        return names
    }

    /// The parameters of the modules named in modules_to_save (a tied model is untied first by `apply`, unless it
    /// keeps tying, where `lm_head` names the shared embedding).
    static func modulesToSaveParameters(_ model: CausalLM, _ names: [String]) throws -> [Parameter] {
        var out: [Parameter] = []
        for name in names {
            var found = model.params.all.filter { matches(modulePath(of: $0.name), name) }
            if found.isEmpty, model.architecture.head == nil, matches("lm_head", name) { found = [model.architecture.tokenEmbedding] }
            if found.isEmpty {
                let modules = Array(Set(model.params.all.map { modulePath(of: $0.name) } + ["lm_head"])).sorted()
                throw LoRAError("modules_to_save", "\"\(name)\" matches no module of the model; its modules are: \(modules.joined(separator: ", "))")
            }
            for p in found where !out.contains(where: { $0 === p }) { out.append(p) }
        }
        return out
    }
}
