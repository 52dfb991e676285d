import Foundation
import HubClient
import Models
import PEFT
import Recipes
import TensorCore
import Values

/// What `sftrun plan` adds after the resolved recipe: the training graph (family, layers, parameter counts),
/// the memory plan for the recipe's batch shape, and a step-time estimate from a short sgemm calibration.
/// Reads only config.json (or GGUF metadata); no weights are loaded.
public enum TrainingGraphReport {
    /// The model's config without its weights: local folder, .gguf metadata, or config.json from the Hub cache.
    static func config(_ recipe: Recipe, hub: HubConfiguration) throws -> DecoderConfig {
        let path = recipe.model.nameOrPath
        if path.hasSuffix(".gguf"), FileManager.default.fileExists(atPath: path) {
            return try DecoderConfig(json: try GGUFSource(url: URL(fileURLWithPath: path)).config(), file: path)
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            return try DecoderConfig.load(directory: URL(fileURLWithPath: path))
        }
        // Only what is already cached: plan must not wait on the network (`sftrun download REPO config.json` fetches it).
        var cached = hub
        cached.offline = true
        let folder = try HubClient(configuration: cached).snapshotDownload(repo: path, revision: recipe.model.revision, include: ["config.json"])
        return try DecoderConfig.load(directory: folder)
    }

    public static func lines(_ recipe: Recipe, hub: HubConfiguration = .fromEnvironment()) -> [String] {
        let c: DecoderConfig
        do { c = try config(recipe, hub: hub) } catch {
            return ["training graph: not available (\(error))"]
        }
        let model = CausalLM(config: c, backend: CPUBackend(threads: 1))
        var trainable = model.params.count
        var adapterNote = "full fine-tuning"
        if let l = recipe.lora, l.adapterPath == nil,
           let (adapters, _) = try? LocalTrainer.applyLoRA(l, to: model, seed: 0) {
            trainable = LoRA.trainableParameters(model, adapters).reduce(0) { $0 + $1.value.count }
            adapterNote = "LoRA r=\(l.r) on \(adapters.count) linear layers"
        }
        let t = recipe.training
        let seqLen = recipe.data.maxLength ?? c.maxPositions
        var weightBytes: Int? = nil
        if let q = recipe.quantization?.bitsAndBytes {
            let quantized = model.linearLayers.filter { !q.skips($0.modulePath) }
            let packed = quantized.reduce(0) { $0 + q.bytes(outFeatures: $1.outFeatures, inFeatures: $1.inFeatures) }
            weightBytes = (model.params.count - quantized.reduce(0) { $0 + $1.weight.value.count }) * 4 + packed
            adapterNote += ", \(q.label) base"
        }
        let plan = MemoryPlan.plan(c, parameters: model.params.count, trainable: trainable, batch: t.perDeviceTrainBatchSize,
                                   seqLen: seqLen, checkpointing: t.gradientCheckpointing, weightBytes: weightBytes)
        var out = ["training graph: \(c.family.rawValue), \(c.layers) blocks (hidden \(c.hiddenSize), \(c.heads) heads / \(c.kvHeads) kv heads, "
                   + "head_dim \(c.headDim), intermediate \(c.intermediateSize), vocab \(c.vocabSize)\(c.tieWordEmbeddings ? ", tied embeddings" : "")); \(adapterNote)"]
        out += plan.summary.split(separator: "\n").map(String.init)
        out.append("batch shape: \(t.perDeviceTrainBatchSize) × \(seqLen) tokens (at most) per micro-batch, \(t.gradientAccumulationSteps) per step")
        let peak = KernelBenchmarks.sgemmPeak(m: 1024, n: 1536, k: 576)
        let flops = TrainingBenchmark.flopsPerToken(c, seqLen: seqLen) * Double(t.perDeviceTrainBatchSize * seqLen * t.gradientAccumulationSteps)
        let scale = recipe.lora == nil ? 1.0 : 2.0 / 3.0  // frozen weights skip their weight-gradient GEMM
        out.append(String(format: "estimated step time: %.1f s at most (sgemm calibration %.0f GFLOP/s, 80 %% efficiency)",
                          flops * scale / (0.8 * peak * 1e9), peak))
        return out
    }
}
