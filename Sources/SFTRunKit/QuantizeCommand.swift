import Foundation
import Models
import Quantization
import TensorCore

/// `sftrun quantize --model PATH --output DIR (--load-in-4bit … | --load-in-8bit)`: quantize once, reuse the
/// folder — bitsandbytes' serialization with `quantization_config` in config.json, which transformers + bitsandbytes
/// load as they load a `*-bnb-4bit` repo, and which sftrun trains QLoRA on without re-quantizing.
public enum QuantizeCommand {
    public static func run(model path: String, output: String, config: BitsAndBytesConfig, dtype: String = "float32") -> Int32 {
        do {
            let loaded = try ModelLoading.load(path: path, backend: CPUBackend())
            if let q = loaded.quantization {
                throw QuantizationError(path, "the model is already quantized (\(q.label)); quantize the original float weights instead")
            }
            let storage = ComputeDType(rawValue: dtype) ?? .float32
            let s = Quantizer.quantize(loaded.model, config, storage: storage)
            let out = URL(fileURLWithPath: output)
            try BitsAndBytesCheckpoint.save(loaded.model, config: config, to: out, dtype: ElementType(rawValue: dtype) ?? .float32)
            let tokenizerFolder = path.hasSuffix(".gguf") ? try GGUFTokenizer.folder(for: loaded.source) : loaded.source
            try TokenizerFiles.copy(from: tokenizerFolder, to: out, chatTemplate: nil)
            FileHandle.standardError.write(Data("quantized \(s.layers) linear layers to \(config.label): \(QuantizationSupport.megabytes(s.floatBytes)) → \(QuantizationSupport.megabytes(s.packedBytes)); wrote \(out.path)\n".utf8))
            return 0
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            return 1
        }
    }
}
