import Models
import TensorCore

/// Replaces the frozen linear weights of a model's transformer blocks by packed 4-bit or 8-bit ones, as transformers
/// does for `load_in_4bit` / `load_in_8bit`: every linear layer of the blocks (and OPT's project_in/out), not the
/// embeddings, norms or output head, and none named in `llm_int8_skip_modules`.
public enum Quantizer {
    public struct Summary: Sendable {
        public var layers: Int
        /// Bytes of the quantized matrices before (float32) and after.
        public var floatBytes: Int
        public var packedBytes: Int
    }

    /// Quantizes in place. `storage` is the dtype the weights had when bitsandbytes quantized them (`model.dtype`):
    /// bf16/fp16 weights are rounded to it first and decoded values are rounded back to it, as bitsandbytes does.
    @discardableResult
    public static func quantize(_ model: CausalLM, _ config: BitsAndBytesConfig, storage: ComputeDType = .float32) -> Summary {
        var summary = Summary(layers: 0, floatBytes: 0, packedBytes: 0)
        for layer in targets(model, config) { quantize(layer, config, storage: storage, into: &summary) }
        return summary
    }

    /// A `ModelCheckpoint.load(afterEach:)` hook that packs each target weight as soon as it is read.
    public final class LoadingHook {
        let config: BitsAndBytesConfig
        let storage: ComputeDType
        var byWeight: [ObjectIdentifier: LinearLayer] = [:]
        public private(set) var summary = Summary(layers: 0, floatBytes: 0, packedBytes: 0)

        public init(_ model: CausalLM, _ config: BitsAndBytesConfig, storage: ComputeDType = .float32) {
            self.config = config
            self.storage = storage
            for layer in Quantizer.targets(model, config) { byWeight[ObjectIdentifier(layer.weight)] = layer }
        }

        public func callAsFunction(_ p: Parameter) {
            if let layer = byWeight.removeValue(forKey: ObjectIdentifier(p)) { Quantizer.quantize(layer, config, storage: storage, into: &summary) }
        }
    }

    static func targets(_ model: CausalLM, _ config: BitsAndBytesConfig) -> [LinearLayer] {
        model.linearLayers.filter { !config.skips($0.modulePath) && $0.weight.value.elementType != .packed }
    }

    static func quantize(_ layer: LinearLayer, _ config: BitsAndBytesConfig, storage: ComputeDType, into summary: inout Summary) {
        let w = layer.weight
        let shape = [layer.outFeatures, layer.inFeatures]
        var values = w.value.toArray()
        if storage != .float32 { for i in values.indices { values[i] = storage.round(values[i]) } }
        let packed: PackedWeight = values.withUnsafeBufferPointer { v in
            switch config.mode {
            case .fourBit(let type):
                return FourBitMatrix(quantizing: v, shape: shape, type: type, blocksize: config.blocksize,
                                     doubleQuant: config.doubleQuant, storageDType: storage, computeDType: config.computeDType)
            case .eightBit:
                return Int8Matrix(quantizing: v, shape: shape)
            }
        }
        w.setTrainable(false)
        w.value = Tensor(shape: shape, packed: packed)
        summary.layers += 1
        summary.floatBytes += values.count * 4
        summary.packedBytes += packed.byteCount
    }
}
