import Foundation
import TensorCore
import Values
import WeightFiles

/// Named tensors from any checkpoint format, widened to float32 on read.
public protocol WeightSource {
    var description: String { get }
    var names: [String] { get }
    func shape(_ name: String) throws -> [Int]
    func floats(_ name: String) throws -> [Float]
}

/// A single safetensors file or a sharded checkpoint with its index.
public struct SafeTensorsSource: WeightSource {
    enum Storage { case file(SafeTensorsFile), index(CheckpointIndex) }
    let storage: Storage
    public let description: String

    /// Finds `model.safetensors.index.json` or `model.safetensors` in `directory`.
    public init(directory: URL) throws {
        let index = directory.appendingPathComponent(CheckpointIndex.fileName)
        let single = directory.appendingPathComponent("model.safetensors")
        if FileManager.default.fileExists(atPath: index.path) {
            storage = .index(try CheckpointIndex(directory: directory))
            description = index.path
        } else if FileManager.default.fileExists(atPath: single.path) {
            storage = .file(try SafeTensorsFile(url: single))
            description = single.path
        } else {
            throw ModelError(file: directory.path, "no model.safetensors or model.safetensors.index.json; point model.name_or_path at a model folder")
        }
    }

    public var names: [String] {
        switch storage { case .file(let f): return f.names; case .index(let i): return i.names }
    }
    public func shape(_ name: String) throws -> [Int] {
        switch storage { case .file(let f): return try f.info(name).shape; case .index(let i): return try i.info(name).shape }
    }
    public func floats(_ name: String) throws -> [Float] {
        switch storage { case .file(let f): return try f.floats(name); case .index(let i): return try i.floats(name) }
    }
    /// A tensor's dtype, shape and stored bytes, for entries that are not plain floats (quantized weights).
    public func info(_ name: String) throws -> TensorInfo {
        switch storage { case .file(let f): return try f.info(name); case .index(let i): return try i.info(name) }
    }
    public func bytes(_ name: String) throws -> [UInt8] {
        switch storage { case .file(let f): return Array(try f.bytes(name)); case .index(let i): return Array(try i.bytes(name)) }
    }
}

/// `pytorch_model.bin` through the restricted unpickler (no code from the file ever runs).
public struct PyTorchSource: WeightSource {
    let checkpoint: PyTorchCheckpoint
    public var description: String { checkpoint.url.path }
    public init(url: URL) throws { checkpoint = try PyTorchCheckpoint(url: url) }
    public var names: [String] { checkpoint.names }
    public func shape(_ name: String) throws -> [Int] { try checkpoint.info(name).shape }
    public func floats(_ name: String) throws -> [Float] { try checkpoint.floats(name) }
}

/// A llama.cpp GGUF file seen under HF Llama names, dequantized and with q/k rows un-permuted.
public struct GGUFSource: WeightSource {
    let file: GGUFFile
    let ggufName: [String: String]
    public var description: String { file.url.path }

    public init(url: URL) throws {
        file = try GGUFFile(url: url)
        var map: [String: String] = [:]
        for t in file.tensors { if let hf = GGUFLlama.huggingFaceName(t.name) { map[hf] = t.name } }
        ggufName = map
    }

    /// config.json equivalent of the file's metadata.
    public func config() throws -> Value { try GGUFLlama.huggingFaceConfig(file) }

    public var names: [String] { ggufName.keys.sorted() }
    public func shape(_ name: String) throws -> [Int] {
        guard let g = ggufName[name] else { throw ModelError(file: description, "no tensor for \(name)") }
        return try file.info(g).shape
    }
    public func floats(_ name: String) throws -> [Float] {
        guard let g = ggufName[name] else { throw ModelError(file: description, "no tensor for \(name)") }
        return try GGUFLlama.huggingFaceTensor(file, gguf: g).values
    }
}

/// Picks the weights in a model folder: safetensors (single or sharded) first, else pytorch_model.bin.
public func weightSource(directory: URL) throws -> WeightSource {
    let fm = FileManager.default
    if fm.fileExists(atPath: directory.appendingPathComponent(CheckpointIndex.fileName).path)
        || fm.fileExists(atPath: directory.appendingPathComponent("model.safetensors").path) {
        return try SafeTensorsSource(directory: directory)
    }
    let bin = directory.appendingPathComponent("pytorch_model.bin")
    if fm.fileExists(atPath: bin.path) { return try PyTorchSource(url: bin) }
    throw ModelError(file: directory.path, "no model.safetensors, model.safetensors.index.json or pytorch_model.bin; point model.name_or_path at a model folder")
}

/// Loading HF checkpoints into a model and writing trained models back as transformers expects them.
public enum ModelCheckpoint {
    /// Checkpoint entries that are buffers or duplicates, not weights (transformers ignores them too).
    static func isIgnorable(_ name: String) -> Bool {
        name.hasSuffix(".attn.bias") || name.hasSuffix(".attn.masked_bias") || name.hasSuffix("rotary_emb.inv_freq")
            || name.hasSuffix(".attention.bias") || name.hasSuffix(".attention.masked_bias")
    }

    /// Fills every parameter from `source`. Names match exactly or after dropping a leading `model.` /
    /// `transformer.` (hub checkpoints of GPT-2 and OPT are saved from the base model); a tied lm_head is skipped.
    /// Returns the checkpoint names that were not used.
    @discardableResult
    /// `afterEach` sees every parameter right after it is filled (a quantizing loader packs it there, so the float32
    /// weights never all exist at once).
    public static func load(_ model: CausalLM, from source: WeightSource, afterEach: ((Parameter) -> Void)? = nil) throws -> [String] {
        let available = Set(source.names)
        func lookup(_ name: String) -> String? { checkpointKey(for: name, in: available) }
        var used = Set<String>(), missing: [String] = []
        // Weights already filled in packed (quantized) form were read by their own loader.
        for p in model.params.all where p.value.elementType != .packed {
            guard let key = lookup(p.name) else { missing.append(p.name); continue }
            let shape = try source.shape(key)
            guard shape == p.checkpointShape else {
                throw ModelError(file: source.description, "\(key) has shape \(shape) but config.json implies \(p.checkpointShape); the weights do not belong to this config")
            }
            var values = try source.floats(key)
            if p.transposedInCheckpoint { values = transpose(values, rows: shape[0], columns: shape[1]) }
            if p.value.elementType != .float32 { p.value = Tensor(zeros: p.value.shape) }
            values.withUnsafeBufferPointer { p.value.floats.update(from: $0.baseAddress!, count: values.count) }
            used.insert(key)
            afterEach?(p)
        }
        if !missing.isEmpty {
            let shown = missing.prefix(5).joined(separator: ", ")
            throw ModelError(file: source.description, "missing \(missing.count) weight(s): \(shown)\(missing.count > 5 ? ", ..." : ""); the checkpoint does not match config.json")
        }
        let tiedHead = model.architecture.head == nil
        return source.names.filter { !used.contains($0) && !isIgnorable($0) && !(tiedHead && $0.hasSuffix("lm_head.weight")) }
    }

    /// The checkpoint's name for parameter `name`: the same, or without a leading `model.` / `transformer.`.
    public static func checkpointKey(for name: String, in available: Set<String>) -> String? {
        if available.contains(name) { return name }
        for prefix in ["model.", "transformer."] where name.hasPrefix(prefix) {
            let short = String(name.dropFirst(prefix.count))
            if available.contains(short) { return short }
        }
        return nil
    }

    static func transpose(_ v: [Float], rows: Int, columns: Int) -> [Float] {
        var out = [Float](repeating: 0, count: v.count)
        for r in 0..<rows { for c in 0..<columns { out[c * rows + r] = v[r * columns + c] } }
        return out
    }

    /// The model's weights under their HF names, in `dtype` (float32 / bfloat16 / float16), Conv1D transposed back.
    public static func tensors(_ model: CausalLM, dtype: ElementType = .float32, skipping: Set<String> = []) -> [TensorData] {
        model.params.all.filter { !skipping.contains($0.name) }.map { p in
            var values = p.value.toArray()
            if p.transposedInCheckpoint { values = transpose(values, rows: p.value.shape[0], columns: p.value.shape[1]) }
            return tensorData(p.name, shape: p.checkpointShape, values: values, dtype: dtype)
        }
    }

    public static func tensorData(_ name: String, shape: [Int], values: [Float], dtype: ElementType) -> TensorData {
        var bytes = [UInt8]()
        switch dtype {
        case .float32, .packed:
            bytes = values.withUnsafeBytes { Array($0) }
            return TensorData(name: name, dtype: .F32, shape: shape, bytes: bytes)
        case .bfloat16, .float16:
            let bits = values.map { dtype == .bfloat16 ? Conversions.floatToBF16($0) : Conversions.floatToF16($0) }
            bytes = bits.withUnsafeBytes { Array($0) }
            return TensorData(name: name, dtype: dtype == .bfloat16 ? .BF16 : .F16, shape: shape, bytes: bytes)
        }
    }

    /// Writes `model.safetensors` (sharded above `maxShardBytes`) and `config.json` into `directory`, each
    /// atomically, so `AutoModelForCausalLM.from_pretrained(directory)` loads it.
    /// `tensors` replaces the model's own (a quantized serialization); `configEntries` are added to config.json.
    public static func save(_ model: CausalLM, to directory: URL, dtype: ElementType = .float32, maxShardBytes: Int = 5_000_000_000,
                            tensors override: [TensorData]? = nil, configEntries: [String: Value] = [:]) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try SafeTensorsWriter.writeSharded(override ?? tensors(model, dtype: dtype), maxShardBytes: maxShardBytes, to: directory)
        var config = model.config.raw
        let name = dtype == .bfloat16 ? "bfloat16" : dtype == .float16 ? "float16" : "float32"
        _ = config.setValue(.string(name), at: ["dtype"])
        for (key, value) in configEntries.sorted(by: { $0.key < $1.key }) { _ = config.setValue(value, at: [.key(key)]) }
        try AtomicFile.write(JSON.serialize(config, pretty: true, indent: 2) + "\n", to: directory.appendingPathComponent("config.json").path)
        // generation_config.json as save_pretrained writes it: the special token ids from the config.
        var generation = Value.object([:])
        for key in ["bos_token_id", "eos_token_id", "pad_token_id"] {
            if let v = model.config.raw[key], !v.isNull { _ = generation.setValue(v, at: [.key(key)]) }
        }
        try AtomicFile.write(JSON.serialize(generation, pretty: true, indent: 2) + "\n", to: directory.appendingPathComponent("generation_config.json").path)
    }
}
