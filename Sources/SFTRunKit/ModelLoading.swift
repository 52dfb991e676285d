import Foundation
import HubClient
import Models
import Quantization
import Recipes
import TensorCore
import Values

/// Finds and loads `model.name_or_path`: a local HF folder, a llama.cpp `.gguf` file, or a Hub repo id
/// (downloaded into the HF cache).
public struct LoadedModel {
    public var model: CausalLM
    /// The folder or file the weights came from, and the files hashed into recipe.lock.yaml.
    public var source: URL
    public var weightFiles: [URL]
    public var unusedTensors: [String]
    /// The bitsandbytes quantization of a pre-quantized checkpoint (its weights are already packed).
    public var quantization: BitsAndBytesConfig? = nil
    /// What quantize-on-load packed (nil when the loader quantized nothing).
    public var quantizedOnLoad: Quantizer.Summary? = nil
}

public enum ModelLoading {
    /// A recipe's `quantization:` is applied while loading: each linear weight is packed as soon as it is read.
    public static func load(_ recipe: Recipe, backend: Backend, hub: HubConfiguration = .fromEnvironment()) throws -> LoadedModel {
        let quantize = recipe.quantization?.bitsAndBytes.map { ($0, ComputeDType(rawValue: recipe.model.dtype) ?? .float32) }
        return try load(path: recipe.model.nameOrPath, revision: recipe.model.revision, backend: backend, hub: hub, quantize: quantize)
    }

    public static func load(path: String, revision: String = "main", backend: Backend, hub: HubConfiguration = .fromEnvironment(),
                            quantize: (config: BitsAndBytesConfig, storage: ComputeDType)? = nil) throws -> LoadedModel {
        var loadingHook: Quantizer.LoadingHook?
        func hook(_ model: CausalLM) -> ((Parameter) -> Void)? {
            guard let quantize else { return nil }
            let h = Quantizer.LoadingHook(model, quantize.config, storage: quantize.storage)
            loadingHook = h
            return { h($0) }
        }
        func summary() -> Quantizer.Summary? { loadingHook.flatMap { $0.summary.layers > 0 ? $0.summary : nil } }
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
        if exists && !isDir.boolValue {
            guard path.hasSuffix(".gguf") else {
                throw ModelError(file: path, "model.name_or_path is a file; point it at a model folder (config.json + weights), a .gguf file or a Hub repo id")
            }
            let url = URL(fileURLWithPath: path)
            let source = try GGUFSource(url: url)
            let model = CausalLM(config: try DecoderConfig(json: try source.config(), file: path), backend: backend)
            let unused = try ModelCheckpoint.load(model, from: source, afterEach: hook(model))
            return LoadedModel(model: model, source: url, weightFiles: [url], unusedTensors: unused, quantizedOnLoad: summary())
        }
        let folder: URL
        if exists {
            folder = URL(fileURLWithPath: path)
        } else {
            guard path.split(separator: "/").count == 2, !path.hasPrefix(".") else {
                throw ModelError(file: path, "no such folder or file, and not a Hub repo id (owner/name); check model.name_or_path")
            }
            do {
                folder = try HubClient(configuration: hub, progress: StandardProgressReporter()).downloadModel(repo: path, revision: revision)
            } catch {
                throw ModelError(file: path, "\(error)")
            }
        }
        let model = CausalLM(config: try DecoderConfig.load(directory: folder), backend: backend)
        let source = try weightSource(directory: folder)
        let (unused, quantization) = try BitsAndBytesCheckpoint.loadModel(model, from: source, afterEach: hook(model))
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
            .filter { $0.hasSuffix(".safetensors") || $0.hasSuffix(".bin") || $0 == "config.json" || $0.hasSuffix(".index.json") }
            .map { folder.appendingPathComponent($0) }
        return LoadedModel(model: model, source: folder, weightFiles: files, unusedTensors: unused, quantization: quantization,
                           quantizedOnLoad: summary())
    }
}
