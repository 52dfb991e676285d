import Foundation
import Models
import TensorCore
import Values
import WeightFiles

/// Pre-quantized checkpoints in bitsandbytes' serialization (what `save_pretrained` writes for a `load_in_4bit` /
/// `load_in_8bit` model, and what `*-bnb-4bit` Hub repos hold), read and written.
///
/// 4-bit, per linear weight `W`: `W` (uint8 packed pairs, shape [n/2, 1]), `W.absmax` (float32 per block, or uint8
/// codes with double quantization), `W.quant_map` (the 16-value code), `W.nested_absmax` + `W.nested_quant_map`
/// (double quantization), `W.quant_state.bitsandbytes__nf4|fp4` (JSON bytes: quant_type, blocksize, dtype, shape,
/// nested_blocksize, nested_dtype, nested_offset). 8-bit, per module `M`: `M.weight` (int8 [out, in]), `M.SCB`
/// (float32 row absmax), `M.weight_format` (uint8 scalar, 0 = row-major).
public enum BitsAndBytesCheckpoint {
    /// Loads a whole checkpoint: bitsandbytes entries when config.json carries a bitsandbytes `quantization_config`,
    /// then every other weight. Returns the checkpoint names not used and the checkpoint's quantization.
    /// `afterEach` goes to `ModelCheckpoint.load` (a quantize-on-load hook for a float checkpoint).
    public static func loadModel(_ model: CausalLM, from source: WeightSource,
                                 afterEach: ((Parameter) -> Void)? = nil) throws -> (unused: [String], quantization: BitsAndBytesConfig?) {
        guard let q = model.config.raw["quantization_config"], !q.isNull,
              let config = try BitsAndBytesConfig(quantizationConfig: q, file: source.description) else {
            return (try ModelCheckpoint.load(model, from: source, afterEach: afterEach), nil)
        }
        guard let safetensors = source as? SafeTensorsSource else {
            throw QuantizationError(source.description, "a bitsandbytes-quantized checkpoint must be safetensors (model.safetensors); re-save it with save_pretrained(safe_serialization=True)")
        }
        let used = try load(model, from: safetensors, config: config)
        return (try ModelCheckpoint.load(model, from: source).filter { !used.contains($0) }, config)
    }

    /// Fills every quantized linear weight of `model` from `source`; returns the checkpoint keys it read (the rest of
    /// the model then loads with `ModelCheckpoint.load`, which skips packed weights).
    @discardableResult
    public static func load(_ model: CausalLM, from source: SafeTensorsSource, config: BitsAndBytesConfig) throws -> Set<String> {
        let names = Set(source.names)
        var used = Set<String>()
        let file = source.description
        for layer in model.linearLayers {
            guard let key = ModelCheckpoint.checkpointKey(for: layer.weight.name, in: names) else { continue }
            let shape = [layer.outFeatures, layer.inFeatures]
            let packed: PackedWeight
            if names.contains(key + ".absmax") {
                packed = try fourBit(key, shape: shape, source: source, names: names, config: config, used: &used)
            } else if key.hasSuffix(".weight"), case let module = String(key.dropLast(".weight".count)), names.contains(module + ".SCB") {
                packed = try eightBit(module, shape: shape, source: source, names: names, used: &used)
            } else {
                guard config.skips(layer.modulePath) else {
                    throw QuantizationError(file, "\(key) is not quantized although quantization_config quantizes \(layer.modulePath); the checkpoint does not match its config.json")
                }
                continue
            }
            layer.weight.setTrainable(false)
            layer.weight.value = Tensor(shape: shape, packed: packed)
        }
        return used
    }

    static func fourBit(_ key: String, shape: [Int], source: SafeTensorsSource, names: Set<String>, config: BitsAndBytesConfig,
                        used: inout Set<String>) throws -> FourBitMatrix {
        let file = source.description
        func fail(_ what: String) -> QuantizationError { QuantizationError(file, "\(key): \(what); the file is damaged or not a bitsandbytes checkpoint") }
        guard let stateKey = names.first(where: { $0.hasPrefix(key + ".quant_state.bitsandbytes__") }) else {
            throw fail("no \(key).quant_state.bitsandbytes__nf4/fp4 entry")
        }
        let stateBytes = try source.bytes(stateKey)
        guard let state = try? JSON.parse(bytes: stateBytes),
              let typeName = state["quant_type"]?.stringValue, let type = FourBitType(rawValue: typeName) else {
            throw fail("its quant_state is not the JSON bitsandbytes writes")
        }
        let n = shape.reduce(1, *)
        let blocksize = state["blocksize"]?.intValue ?? 64
        guard [32, 64, 128, 256, 512, 1024, 2048, 4096].contains(blocksize) else { throw fail("blocksize \(blocksize) is not one bitsandbytes uses") }
        if let s = state["shape"]?.arrayValue?.compactMap(\.intValue), s != shape {
            throw QuantizationError(file, "\(key) was quantized with shape \(s) but config.json implies \(shape); the weights do not belong to this config")
        }
        let storage = ComputeDType(rawValue: state["dtype"]?.stringValue ?? "float32") ?? .float32
        let packed = try source.bytes(key)
        guard packed.count == (n + 1) / 2 else { throw fail("\(packed.count) packed bytes for \(n) values (want \((n + 1) / 2))") }
        let blocks = (n + blocksize - 1) / blocksize
        if names.contains(key + ".quant_map") {
            let map = try floats(key + ".quant_map", count: 16, source: source, fail: fail)
            guard zip(map, type.code).allSatisfy({ abs($0 - $1) <= 1e-6 }) else { throw fail("its quant_map is not bitsandbytes' \(typeName) code") }
            used.insert(key + ".quant_map")
        }
        let statistics: FourBitMatrix.Statistics
        if names.contains(key + ".nested_absmax") {
            let codes = try source.bytes(key + ".absmax")
            guard codes.count == blocks else { throw fail("\(codes.count) absmax codes for \(blocks) blocks") }
            let nestedBlocksize = state["nested_blocksize"]?.intValue ?? 256
            guard nestedBlocksize > 0 else { throw fail("nested_blocksize \(nestedBlocksize)") }
            let nested = try floats(key + ".nested_absmax", count: (blocks + nestedBlocksize - 1) / nestedBlocksize, source: source, fail: fail)
            let code = try floats(key + ".nested_quant_map", count: 256, source: source, fail: fail)
            guard let offset = state["nested_offset"]?.doubleValue else { throw fail("double quantization without nested_offset") }
            statistics = .nested(codes: codes, nestedAbsmax: nested, nestedCode: code, nestedBlocksize: nestedBlocksize, offset: Float(offset))
            used.formUnion([key + ".nested_absmax", key + ".nested_quant_map"])
        } else {
            statistics = .plain(absmax: try floats(key + ".absmax", count: blocks, source: source, fail: fail))
        }
        used.formUnion([key, key + ".absmax", stateKey])
        return FourBitMatrix(type: type, shape: shape, blocksize: blocksize, storageDType: storage, computeDType: config.computeDType,
                             packed: packed, statistics: statistics)
    }

    static func eightBit(_ module: String, shape: [Int], source: SafeTensorsSource, names: Set<String>, used: inout Set<String>) throws -> Int8Matrix {
        let key = module + ".weight"
        func fail(_ what: String) -> QuantizationError {
            QuantizationError(source.description, "\(key): \(what); the file is damaged or not a bitsandbytes checkpoint")
        }
        let info = try source.info(key)
        guard info.dtype == .I8, info.shape == shape else { throw fail("an 8-bit weight must be int8 \(shape), found \(info.dtype.rawValue) \(info.shape)") }
        let scb = try floats(module + ".SCB", count: shape[0], source: source, fail: fail)
        if names.contains(module + ".weight_format") {
            let format = try source.bytes(module + ".weight_format")
            guard format == [0] else { throw fail("weight_format \(format) is not row-major (0); re-save it with a current bitsandbytes") }
            used.insert(module + ".weight_format")
        }
        let cb = try source.bytes(key).map { Int8(bitPattern: $0) }
        used.formUnion([key, module + ".SCB"])
        return Int8Matrix(shape: shape, cb: cb, scb: scb)
    }

    static func floats(_ name: String, count: Int, source: SafeTensorsSource, fail: (String) -> QuantizationError) throws -> [Float] {
        let info = try source.info(name)
        guard info.elementCount == count else { throw fail("\(name) has \(info.elementCount) values, want \(count)") }
        return try source.floats(name)
    }

    /// The model's tensors with packed weights in bitsandbytes' serialization and the rest in `dtype`.
    public static func tensors(_ model: CausalLM, dtype: ElementType) -> [TensorData] {
        var out: [TensorData] = []
        let packedNames = Set(model.params.all.filter { $0.value.elementType == .packed }.map(\.name))
        for t in ModelCheckpoint.tensors(model, dtype: dtype, skipping: packedNames) { out.append(t) }
        for p in model.params.all where p.value.elementType == .packed {
            if let m = p.value.packed as? FourBitMatrix { out += entries(p.name, m) }
            if let m = p.value.packed as? Int8Matrix { out += entries(String(p.name.dropLast(".weight".count)), m) }
        }
        return out
    }

    static func f32(_ name: String, _ v: [Float]) -> TensorData {
        TensorData(name: name, dtype: .F32, shape: [v.count], bytes: v.withUnsafeBytes { Array($0) })
    }

    static func entries(_ name: String, _ m: FourBitMatrix) -> [TensorData] {
        var out = [TensorData(name: name, dtype: .U8, shape: [m.packed.count, 1], bytes: m.packed),
                   f32(name + ".quant_map", m.type.code)]
        var state = "{\"quant_type\": \"\(m.type.rawValue)\", \"blocksize\": \(m.blocksize), \"dtype\": \"\(m.storageDType.rawValue)\", \"shape\": [\(m.shape.map(String.init).joined(separator: ", "))]"
        switch m.statistics {
        case .plain(let absmax):
            out.append(f32(name + ".absmax", absmax))
        case .nested(let codes, let nested, let code, let nestedBlocksize, let offset):
            out += [TensorData(name: name + ".absmax", dtype: .U8, shape: [codes.count], bytes: codes),
                    f32(name + ".nested_absmax", nested), f32(name + ".nested_quant_map", code)]
            state += ", \"nested_blocksize\": \(nestedBlocksize), \"nested_dtype\": \"float32\", \"nested_offset\": \(Double(offset))"
        }
        state += "}"
        let bytes = Array(state.utf8)
        out.append(TensorData(name: name + ".quant_state.bitsandbytes__\(m.type.rawValue)", dtype: .U8, shape: [bytes.count], bytes: bytes))
        return out
    }

    static func entries(_ module: String, _ m: Int8Matrix) -> [TensorData] {
        [TensorData(name: module + ".weight", dtype: .I8, shape: m.shape, bytes: m.cb.map { UInt8(bitPattern: $0) }),
         f32(module + ".SCB", m.scb),
         TensorData(name: module + ".weight_format", dtype: .U8, shape: [], bytes: [0])]
    }

    /// Writes a pre-quantized model folder (`model.safetensors` + config.json with `quantization_config`) that
    /// transformers + bitsandbytes load as they load a `*-bnb-4bit` repo.
    public static func save(_ model: CausalLM, config: BitsAndBytesConfig, to directory: URL, dtype: ElementType = .float32) throws {
        try ModelCheckpoint.save(model, to: directory, dtype: dtype, tensors: tensors(model, dtype: dtype),
                                 configEntries: ["quantization_config": config.json])
    }
}
