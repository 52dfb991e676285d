import Foundation
import Models
import PEFT
import TensorCore

/// `sftrun merge --model BASE --adapter DIR --output DIR`: W += scale·B·A for every adapter layer, written as a
/// plain HF model folder (weights, config, the base's tokenizer files).
public enum MergeCommand {
    public static func run(model path: String, adapter: String, output: String, dtype: String = "float32") -> Int32 {
        do {
            let loaded = try ModelLoading.load(path: path, backend: CPUBackend())
            let adapters = try AdapterFile.load(directory: URL(fileURLWithPath: adapter), into: loaded.model)
            try LoRA.merge(adapters.adapters, into: loaded.model)
            let out = URL(fileURLWithPath: output)
            try ModelCheckpoint.save(loaded.model, to: out, dtype: ElementType(rawValue: dtype) ?? .float32)
            let tokenizerFolder = path.hasSuffix(".gguf") ? try GGUFTokenizer.folder(for: loaded.source) : loaded.source
            try TokenizerFiles.copy(from: FileManager.default.fileExists(atPath: adapter + "/tokenizer.json") ? URL(fileURLWithPath: adapter) : tokenizerFolder,
                                    to: out, chatTemplate: nil)
            FileHandle.standardError.write(Data("merged \(adapters.adapters.count) LoRA layers (r=\(adapters.config.r)) into \(out.path)\n".utf8))
            return 0
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            return 1
        }
    }
}
