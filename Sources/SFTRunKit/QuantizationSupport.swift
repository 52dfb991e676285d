import Foundation
import Models
import Quantization
import Recipes
import TensorCore
import Training

extension Recipe.Quantization {
    /// The recipe's `quantization:` section as bitsandbytes settings (nil when it quantizes nothing).
    var bitsAndBytes: BitsAndBytesConfig? {
        let mode: BitsAndBytesConfig.Mode
        if loadIn4bit { mode = .fourBit(FourBitType(rawValue: quantType) ?? .nf4) } else if loadIn8bit { mode = .eightBit } else { return nil }
        return BitsAndBytesConfig(mode: mode, doubleQuant: useDoubleQuant, computeDType: ComputeDType(rawValue: computeDtype) ?? .float32,
                                  quantStorage: quantStorage, int8Threshold: int8Threshold, skipModules: skipModules)
    }
}

extension BitsAndBytesConfig {
    /// "4-bit nf4 + double quantization" / "8-bit (LLM.int8 rows)", for messages.
    var label: String {
        switch mode {
        case .fourBit(let t): return "4-bit \(t.rawValue)\(doubleQuant ? " + double quantization" : "")"
        case .eightBit: return "8-bit (LLM.int8 rows)"
        }
    }

    /// Bytes of one quantized [out, in] weight (packed values and statistics), for the memory plan.
    func bytes(outFeatures: Int, inFeatures: Int) -> Int {
        let n = outFeatures * inFeatures
        switch mode {
        case .fourBit:
            let blocks = (n + blocksize - 1) / blocksize
            return (n + 1) / 2 + (doubleQuant ? blocks + (blocks + 255) / 256 * 4 + 1024 : blocks * 4)
        case .eightBit:
            return n + outFeatures * 4
        }
    }
}

enum QuantizationSupport {
    static func megabytes(_ b: Int) -> String { String(format: "%.1f MB", Double(b) / 1e6) }

    /// Quantizes the frozen base weights as the recipe asks, or checks that a pre-quantized model is trained with
    /// adapters; returns the line to print (nil when nothing is quantized).
    static func prepare(_ model: CausalLM, recipe: Recipe, loaded: LoadedModel) throws -> (config: BitsAndBytesConfig, line: String)? {
        let requested = recipe.quantization?.bitsAndBytes
        let packed = model.linearLayers.contains { $0.weight.value.elementType == .packed }
        guard requested != nil || packed else { return nil }
        if recipe.lora == nil {
            throw TrainingError("\(recipe.model.nameOrPath): the base weights are quantized (\((requested ?? loaded.quantization)?.label ?? "bitsandbytes")), so a full fine-tune cannot train them; add a `peft:` section (e.g. `peft: {method: lora, r: 16}`) or load unquantized weights")
        }
        if let requested, loaded.quantization == nil {
            // Packed while loading; anything left (e.g. after a vocabulary resize) is packed now.
            let storage = ComputeDType(rawValue: recipe.model.dtype) ?? .float32
            var s = Quantizer.quantize(model, requested, storage: storage)
            if let early = loaded.quantizedOnLoad {
                s.layers += early.layers; s.floatBytes += early.floatBytes; s.packedBytes += early.packedBytes
            }
            let ratio = s.floatBytes == 0 ? 1 : Double(s.packedBytes) / Double(s.floatBytes)
            return (requested, "quantization: \(s.layers) linear layers in \(requested.label): \(megabytes(s.floatBytes)) float32 → \(megabytes(s.packedBytes)) (\(String(format: "%.2f", ratio))×)")
        }
        guard let config = loaded.quantization ?? requested else { return nil }
        return (config, "quantization: pre-quantized checkpoint (\(config.label)); base weights stay packed")
    }
}
