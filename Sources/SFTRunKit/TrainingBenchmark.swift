import Datasets
import Foundation
import Models
import PEFT
import Quantization
import Recipes
import TensorCore
import Values

/// One full forward+backward of a randomly initialised model of a given shape (`sftrun bench step`).
public enum TrainingBenchmark {
    /// SmolLM2-135M's config.json (random weights).
    public static let smolLM2Config: Value = [
        "model_type": "llama", "vocab_size": 49152, "hidden_size": 576, "intermediate_size": 1536, "num_hidden_layers": 30,
        "num_attention_heads": 9, "num_key_value_heads": 3, "max_position_embeddings": 8192, "rms_norm_eps": 1e-5,
        "rope_theta": 100000.0, "tie_word_embeddings": true, "hidden_act": "silu",
    ]

    public struct Result: Sendable {
        public var secondsPerStep: Double
        public var tokensPerSecond: Double
        public var gflopPerToken: Double
        public var achievedGFLOPS: Double
        public var peakTrackedBytes: Int
        /// Bytes held by all weights (packed ones at their packed size).
        public var weightBytes: Int
    }

    /// How the frozen base of a LoRA benchmark is stored.
    public enum BaseStorage: Sendable {
        case float32, bfloat16
        case quantized(BitsAndBytesConfig)

        public init?(_ name: String, doubleQuant: Bool) {
            switch name {
            case "float32": self = .float32
            case "bfloat16": self = .bfloat16
            case "int8": self = .quantized(BitsAndBytesConfig(mode: .eightBit))
            case "nf4", "fp4": self = .quantized(BitsAndBytesConfig(mode: .fourBit(FourBitType(rawValue: name)!), doubleQuant: doubleQuant))
            default: return nil
            }
        }
    }

    /// FLOPs per token: 6·N (matmul parameters, head included) + 12·L·T·(heads·head_dim) for attention.
    public static func flopsPerToken(_ c: DecoderConfig, seqLen: Int) -> Double {
        6 * Double(c.matmulParameters) + 12 * Double(c.layers * seqLen * c.heads * c.headDim)
    }

    /// `loraRank`: LoRA on every linear layer of the blocks with a frozen base (float32), as peft's all-linear.
    public static func run(config: DecoderConfig, batch: Int, seqLen: Int, steps: Int, threads: Int, checkpointing: Bool,
                           loraRank: Int? = nil, base: BaseStorage = .float32, profile: Bool = false,
                           progress: (String) -> Void = { _ in }) throws -> Result {
        let backend = CPUBackend(threads: threads)
        let model = CausalLM(config: config, backend: backend)
        var rng = SplitMix64(seed: 7)
        // A quantized base is packed weight by weight as it is filled, as the loader does.
        var quantizedBase: Quantizer.LoadingHook?
        if loraRank != nil, case .quantized(let q) = base { quantizedBase = Quantizer.LoadingHook(model, q) }
        for p in model.params.all {
            let isNorm = p.name.contains("norm")
            for i in 0..<p.value.count { p.value.floats[i] = isNorm ? 1 : Float((rng.nextUnit() * 2 - 1) * 0.04) }
            if let quantizedBase { quantizedBase(p) } else { p.setTrainable(true) }
        }
        if let r = loraRank {
            for p in model.params.all { p.setTrainable(false) }
            switch base {
            case .float32: break
            case .bfloat16: model.storeFrozenMatrices(as: .bfloat16)
            case .quantized: break
            }
            _ = try LoRA.apply(to: model, LoRAConfig(r: r, alpha: Double(2 * r), targets: .allLinear, initWeights: .gaussian))
        }
        model.gradientCheckpointing = checkpointing
        let n = batch * seqLen
        let ids = (0..<n).map { _ in Int32(rng.next() % UInt64(config.vocabSize)) }
        let input = ModelInput(batch: batch, seqLen: seqLen, inputIds: ids, labels: ids)
        MemoryTracker.shared.resetPeak()
        let live = MemoryTracker.shared.liveBytes
        if profile { Profiler.shared.enable() }
        defer { Profiler.shared.disable() }
        let t = KernelBenchmarks.median(steps) {
            _ = model.forwardBackward(input, gradScale: 1 / Float(n))
            progress(".")
        }
        let flops = flopsPerToken(config, seqLen: seqLen)
        return Result(secondsPerStep: t, tokensPerSecond: Double(n) / t, gflopPerToken: flops / 1e9,
                      achievedGFLOPS: flops * Double(n) / t / 1e9, peakTrackedBytes: MemoryTracker.shared.peakBytes - live,
                      weightBytes: model.params.all.reduce(0) { $0 + $1.value.byteCount })
    }
}

/// `sftrun bench prepare RECIPE`: the recipe's training data read and tokenized (no data cache) — rows/s, tokens/s,
/// peak RSS — then written to and read back from a temporary data cache. scripts/bench/preprocess_trl.py is the TRL
/// side on the same rows.
public enum PreparationBenchmark {
    public struct Result: Sendable {
        public var rows: Int
        public var examples: Int
        public var tokens: Int
        /// Reading the files and tokenizing (what TRL's dataset preparation does), tokenizer loading excluded.
        public var seconds: Double
        public var cacheWriteSeconds: Double
        public var cacheReadSeconds: Double
        public var peakRSSBytes: Int
        /// Peak RSS before the data was read (tokenizer loaded).
        public var baselineRSSBytes: Int
    }

    /// Resolves the recipe file (with `--set` overrides) and runs.
    public static func run(path: String, overrides: [String] = []) throws -> Result {
        let resolved = try RecipeResolver.resolve(path: path, overrides: overrides)
        let dir = (path as NSString).deletingLastPathComponent
        return try run(recipe: resolved.recipe, recipeDirectory: dir.isEmpty ? "." : dir)
    }

    public static func run(recipe: Recipe, recipeDirectory: String) throws -> Result {
        let prep = try DataPreparation(recipe: recipe, recipeDirectory: recipeDirectory)
        let baseline = peakRSS()
        let start = Date()
        let rows = try prep.loadRows(recipe.data.train).rows
        let prepared = try prep.prepare(rows)
        let seconds = Date().timeIntervalSince(start)
        let peak = peakRSS()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sftrun-bench-prepare-\(getpid())")
        defer { try? FileManager.default.removeItem(at: folder) }
        let cache = DataCache(directory: folder)
        let written = Date()
        try cache.write(prepared, fingerprint: String(repeating: "0", count: 64))
        let read = Date()
        guard case .hit(let back) = cache.read(String(repeating: "0", count: 64)), back.examples.count == prepared.examples.count else {
            throw DataPreparation.Failure(description: "bench prepare: the data cache did not read back what was written to \(folder.path)")
        }
        return Result(rows: rows.count, examples: prepared.examples.count, tokens: prepared.examples.reduce(0) { $0 + $1.inputIDs.count },
                      seconds: seconds, cacheWriteSeconds: read.timeIntervalSince(written), cacheReadSeconds: Date().timeIntervalSince(read),
                      peakRSSBytes: peak, baselineRSSBytes: baseline)
    }

    /// ru_maxrss (kilobytes on Linux) in bytes.
    static func peakRSS() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024
    }
}
