import Foundation
import Models
import TensorCore
import Values
import WeightFiles

/// A LoRA adapter folder in peft's layout: `adapter_model.safetensors` (float32, keys
/// `base_model.model.<module>.lora_A.weight` / `.lora_B.weight`, A [r, in] and B [out, r] even for GPT-2's Conv1D)
/// and `adapter_config.json` as peft 0.21 writes it, so `PeftModel.from_pretrained` loads what sftrun trains.
public enum AdapterFile {
    public static let weightsName = "adapter_model.safetensors"
    public static let configName = "adapter_config.json"
    static let prefix = "base_model.model."

    /// One tensor of the adapter file and the parameter it holds.
    public struct Entry {
        public var key: String
        public var parameter: Parameter
    }

    /// What the adapter file holds, in peft's naming: the LoRA matrices, the trained biases (a wrapped layer's under
    /// `<module>.base_layer.bias`) and the modules_to_save parameters under their own names.
    public static func entries(model: CausalLM, adapters: [LoRALinear], config: LoRAConfig) throws -> [Entry] {
        var out: [Entry] = []
        for a in adapters {
            out.append(Entry(key: prefix + a.loraA.name, parameter: a.loraA))
            out.append(Entry(key: prefix + a.loraB.name, parameter: a.loraB))
        }
        var wrappedBias: [ObjectIdentifier: String] = [:]
        for a in adapters { if let b = a.baseBias { wrappedBias[ObjectIdentifier(b)] = "\(a.modulePath).base_layer.bias" } }
        func key(_ p: Parameter) -> String { prefix + (wrappedBias[ObjectIdentifier(p)] ?? p.name) }
        switch config.bias {
        case .none: break
        case .all: for p in model.params.all where p.name.hasSuffix(".bias") || p.name == "bias" { out.append(Entry(key: key(p), parameter: p)) }
        case .loraOnly: for a in adapters { if let b = a.baseBias { out.append(Entry(key: key(b), parameter: b)) } }
        }
        for p in try LoRA.modulesToSaveParameters(model, config.modulesToSave) where !out.contains(where: { $0.parameter === p }) {
            out.append(Entry(key: key(p), parameter: p))
        }
        // Kept tying: peft saves the head too (its wrapper holds the embedding's tensor), under lm_head's own name.
        if LoRA.keepsTying(model, config), !out.contains(where: { $0.key == prefix + "lm_head.weight" }) {
            out.append(Entry(key: prefix + "lm_head.weight", parameter: model.architecture.tokenEmbedding))
        }
        return out
    }

    /// Writes both files atomically into `directory`. `baseModel` becomes `base_model_name_or_path`.
    public static func save(model: CausalLM, adapters: [LoRALinear], config: LoRAConfig, baseModel: String?, to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let tensors = try entries(model: model, adapters: adapters, config: config).map { e -> TensorData in
            let p = e.parameter
            var values = p.value.toArray()
            if p.transposedInCheckpoint { values = transpose(values, rows: p.value.shape[0], columns: p.value.shape[1]) }
            return ModelCheckpoint.tensorData(e.key, shape: p.checkpointShape, values: values, dtype: .float32)
        }
        try SafeTensorsWriter.write(tensors, to: directory.appendingPathComponent(weightsName))
        let json = JSON.serialize(configJSON(model: model, adapters: adapters, config: config, baseModel: baseModel),
                                  pretty: true, indent: 2, sortKeys: true)
        try AtomicFile.write(json, to: directory.appendingPathComponent(configName).path)
    }

    /// adapter_config.json with every field peft 0.21.2 writes for a plain LoRA (keys sorted, as peft does).
    static func configJSON(model: CausalLM, adapters: [LoRALinear], config: LoRAConfig, baseModel: String?) -> Value {
        let targets: Value
        switch config.targets {
        // peft expands "all-linear" to the full module paths before saving.
        case .allLinear: targets = .array(adapters.map(\.modulePath).sorted().map { .string($0) })
        case .names(let names): targets = .array(Array(Set(names)).sorted().map { .string($0) })
        case .architectureDefault: targets = .array(LoRA.defaultTargets(model.config.family).sorted().map { .string($0) })
        case .pattern(let p): targets = .string(p)
        }
        let initWeights: Value
        switch config.initWeights {
        case .standard: initWeights = .bool(true)
        case .gaussian: initWeights = .string("gaussian")
        case .none: initWeights = .bool(false)
        }
        let saved = LoRA.savedModulesToSave(model, config)
        let fields: [(String, Value)] = [
            ("alora_invocation_tokens", .null), ("alpha_pattern", .object([:])), ("arrow_config", .null),
            ("auto_mapping", .null), ("base_model_name_or_path", baseModel.map { .string($0) } ?? .null),
            ("bias", .string(config.bias.rawValue)), ("corda_config", .null), ("ensure_weight_tying", .bool(config.ensureWeightTying)),
            ("eva_config", .null), ("exclude_modules", .null),
            // peft switches this on by itself for GPT-2's Conv1D layers.
            ("fan_in_fan_out", .bool(adapters.contains { $0.baseWeight.transposedInCheckpoint })),
            ("inference_mode", .bool(true)), ("init_lora_weights", initWeights), ("kasa_config", .null),
            ("layer_replication", .null), ("layers_pattern", .null), ("layers_to_transform", .null),
            ("loftq_config", .object([:])), ("lora_alpha", number(config.alpha)), ("lora_bias", .bool(false)),
            ("lora_dropout", .double(config.dropout)), ("lora_ga_config", .null), ("megatron_config", .null),
            ("megatron_core", .string("megatron.core")),
            ("modules_to_save", saved.isEmpty ? .null : .array(saved.map { .string($0) })),
            ("monteclora_config", .null), ("peft_type", .string("LORA")), ("peft_version", .string("0.21.2")),
            ("qalora_group_size", .int(16)), ("r", .int(config.r)), ("rank_pattern", .object([:])), ("revision", .null),
            ("target_modules", targets), ("target_parameters", .null), ("task_type", .string("CAUSAL_LM")),
            ("trainable_token_indices", .null), ("use_bdlora", .null), ("use_dora", .bool(false)), ("use_qalora", .bool(false)),
            ("use_rslora", .bool(config.useRSLoRA)), ("velora_config", .null),
        ]
        var v: Value = .object([:])
        for (k, x) in fields { v.setValue(x, at: [.key(k)]) }
        return v
    }

    /// peft writes an integral lora_alpha as an int (`"lora_alpha": 8`).
    static func number(_ d: Double) -> Value { d == d.rounded() && abs(d) < 1e15 ? .int(Int(d)) : .double(d) }

    /// Reads adapter_config.json into a LoRAConfig, refusing what sftrun does not implement.
    public static func readConfig(directory: URL) throws -> LoRAConfig {
        let url = directory.appendingPathComponent(configName), file = url.path
        guard let data = FileManager.default.contents(atPath: file) else {
            throw LoRAError(file, "cannot read the adapter config; point adapter_path at a folder saved by peft's save_pretrained or by sftrun")
        }
        let c: Value
        do { c = try JSON.parse(bytes: Array(data)) } catch { throw LoRAError(file, "is not valid JSON (\(error))") }
        guard c.objectValue != nil else { throw LoRAError(file, "must hold a JSON object") }
        if let t = c["peft_type"]?.stringValue, t != "LORA" {
            throw LoRAError(file, "peft_type is \"\(t)\"; sftrun loads LoRA adapters only")
        }
        guard let r = c["r"]?.intValue, r > 0 else { throw LoRAError(file, "\"r\" must be a positive integer") }
        guard let alpha = c["lora_alpha"]?.doubleValue else { throw LoRAError(file, "\"lora_alpha\" must be a number") }
        let dropout = c["lora_dropout"]?.doubleValue ?? 0
        for key in ["use_dora", "use_qalora"] where c[key]?.boolValue == true {
            throw LoRAError(file, "\(key) is true; sftrun implements plain LoRA only")
        }
        for key in ["rank_pattern", "alpha_pattern"] {
            if let o = c[key]?.objectValue, !o.isEmpty { throw LoRAError(file, "\(key) is set; sftrun supports one r and lora_alpha for all layers") }
        }
        for key in ["layers_to_transform", "layer_replication", "exclude_modules", "target_parameters", "trainable_token_indices"] {
            if let v = c[key], !v.isNull { throw LoRAError(file, "\(key) is set; sftrun does not support it") }
        }
        if c["lora_bias"]?.boolValue == true { throw LoRAError(file, "lora_bias is true; sftrun does not support a bias on lora_B") }
        let targets: LoRATargets
        switch c["target_modules"] {
        case nil, .null?: targets = .architectureDefault
        case .string(let s)?: targets = s.lowercased() == "all-linear" ? .allLinear : .pattern(s)
        case .array(let a)?:
            let names = a.compactMap(\.stringValue)
            guard names.count == a.count else { throw LoRAError(file, "\"target_modules\" must list strings") }
            targets = .names(Array(Set(names)).sorted())  // peft keeps them as a set
        default: throw LoRAError(file, "\"target_modules\" must be a string, a list of strings or null")
        }
        let biasName = c["bias"]?.stringValue ?? "none"
        guard let bias = LoRABias(rawValue: biasName) else {
            throw LoRAError(file, "bias \"\(biasName)\" is not one of \(LoRABias.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var modulesToSave: [String] = []
        switch c["modules_to_save"] {
        case nil, .null?: break
        case .array(let a)?:
            modulesToSave = a.compactMap(\.stringValue)
            guard modulesToSave.count == a.count else { throw LoRAError(file, "\"modules_to_save\" must list strings") }
        default: throw LoRAError(file, "\"modules_to_save\" must be a list of strings or null")
        }
        let initWeights: LoRAInit
        switch c["init_lora_weights"] {
        case .bool(false)?: initWeights = .none
        case .string(let s)? where s.lowercased() == "gaussian": initWeights = .gaussian
        default: initWeights = .standard
        }
        return LoRAConfig(r: r, alpha: alpha, dropout: dropout, targets: targets, useRSLoRA: c["use_rslora"]?.boolValue ?? false,
                          bias: bias, modulesToSave: modulesToSave, ensureWeightTying: c["ensure_weight_tying"]?.boolValue ?? false,
                          initWeights: initWeights)
    }

    /// An adapter folder applied to a model: its config and the adapters, filled with the saved values.
    public struct Loaded {
        public var config: LoRAConfig
        public var adapters: [LoRALinear]
        public var entries: [Entry]
    }

    /// Applies the adapter in `directory` to `model` (to continue training it or to merge it): every tensor of the
    /// file must be one the config implies, with the shape r and the layer imply, and every implied tensor must be there.
    public static func load(directory: URL, into model: CausalLM) throws -> Loaded {
        let config = try readConfig(directory: directory)
        let url = directory.appendingPathComponent(weightsName), file = url.path
        guard FileManager.default.fileExists(atPath: file) else {
            throw LoRAError(file, "not found; sftrun reads adapters saved as safetensors (peft's default since 0.6)")
        }
        let weights = try SafeTensorsFile(url: url)
        let adapters: [LoRALinear]
        do { adapters = try LoRA.apply(to: model, config) } catch let e as LoRAError {
            throw LoRAError(directory.appendingPathComponent(configName).path, "\(e.source): \(e.message)")
        }
        let expected = try entries(model: model, adapters: adapters, config: config)
        let byKey = Dictionary(expected.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        for key in weights.names where byKey[key] == nil {
            let hint = key.contains(".lora_") ? "a LoRA tensor for a layer adapter_config.json's target_modules do not select"
                : "neither a LoRA tensor nor a bias or modules_to_save parameter adapter_config.json implies"
            throw LoRAError(file, "\(key) is \(hint); the file and its config do not belong together")
        }
        for e in expected {
            guard weights.names.contains(e.key) else {
                throw LoRAError(file, "has no \(e.key), which adapter_config.json implies (r=\(config.r), target_modules, bias, modules_to_save)")
            }
            let p = e.parameter, shape = try weights.info(e.key).shape
            guard shape == p.checkpointShape else {
                throw LoRAError(file, "\(e.key) has shape \(shape) but r=\(config.r) in adapter_config.json and the model's layer imply \(p.checkpointShape)")
            }
            var values = try weights.floats(e.key)
            guard values.count == p.value.count else { throw LoRAError(file, "\(e.key) holds \(values.count) values, expected \(p.value.count)") }
            if p.transposedInCheckpoint { values = transpose(values, rows: shape[0], columns: shape[1]) }
            values.withUnsafeBufferPointer { p.value.floats.update(from: $0.baseAddress!, count: values.count) }
        }
        return Loaded(config: config, adapters: adapters, entries: expected)
    }

    static func transpose(_ v: [Float], rows: Int, columns: Int) -> [Float] {
        var out = [Float](repeating: 0, count: v.count)
        for r in 0..<rows { for c in 0..<columns { out[c * rows + r] = v[r * columns + c] } }
        return out
    }
}
