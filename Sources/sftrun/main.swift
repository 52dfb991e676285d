import ArgumentParser
import Foundation
import HubClient
import Models
import Quantization
import TensorCore
import SFTRunKit
import Tokenization
import Values

/// Options every recipe-taking subcommand shares.
struct RecipeOptions: ParsableArguments {
    @Option(name: .customLong("set"), help: ArgumentHelp("Override a recipe key, e.g. --set training.learning_rate=3e-5 (value read as YAML).", valueName: "KEY=VALUE"))
    var overrides: [String] = []
}

struct Sftrun: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sftrun",
        abstract: "Supervised fine-tuning of causal language models from YAML recipes.",
        discussion: "`sftrun RECIPE` is the same as `sftrun train RECIPE`.",
        subcommands: [Train.self, Validate.self, Plan.self, Sweep.self, Migrate.self, Inspect.self, Download.self, Cache.self, Tokenize.self, Bench.self, Merge.self, Quantize.self, Eval.self, Generate.self, Chat.self],
        defaultSubcommand: Train.self)
}

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train the model a recipe describes.")
    @Argument(help: "The recipe file.") var recipe: String
    @OptionGroup var options: RecipeOptions
    @Option(help: "Refuse to run unless the model, tokenizer and data files match this recipe.lock.yaml.") var locked: String?
    @Flag(help: "Tokenize the data without reading or writing the data cache (as data.cache: false).") var noDataCache = false
    @Flag(help: "Print where the time went, per op (exclusive wall time), when training ends.") var profile = false
    func run() throws {
        if profile { Profiler.shared.enable() }
        let status = RecipeCommands().train(path: recipe, overrides: options.overrides, executor: LocalTrainer(locked: locked, dataCache: !noDataCache))
        if profile {
            FileHandle.standardError.write(Data((Profiler.shared.report(title: "sftrun train").joined(separator: "\n") + "\n").utf8))
        }
        if status != 0 { throw ExitCode(status) }
    }
}

struct Validate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check recipes against the schema and cross-field rules.",
        discussion: "Exit status: 0 all valid, 1 any invalid, 2 usage error.")
    @Argument(help: "Recipe files.") var recipes: [String]
    @OptionGroup var options: RecipeOptions
    @Option(help: "Output format: text or json (machine-readable, for CI annotations).") var format: OutputFormat = .text
    enum OutputFormat: String, ExpressibleByArgument { case text, json }
    func validate() throws {
        if recipes.isEmpty { throw ValidationError("give at least one recipe file") }
    }
    func run() throws {
        let status = RecipeCommands().validate(paths: recipes, overrides: options.overrides, json: format == .json)
        if status != 0 { throw ExitCode(status) }
    }
}

struct Plan: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the fully resolved recipe and where each value came from.")
    @Argument(help: "The recipe file.") var recipe: String
    @OptionGroup var options: RecipeOptions
    func run() throws {
        let status = RecipeCommands().plan(path: recipe, overrides: options.overrides)
        if status != 0 { throw ExitCode(status) }
    }
}

struct Sweep: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the cartesian product of a recipe's sweep axes, one run after another.")
    @Argument(help: "The recipe file.") var recipe: String
    @OptionGroup var options: RecipeOptions
    @Option(help: ArgumentHelp("Add a sweep axis, e.g. --grid peft.r=8,16.", valueName: "KEY=V1,V2")) var grid: [String] = []
    @Flag(help: "List the runs without running them.") var dryRun = false
    func run() throws {
        let status = RecipeCommands().sweep(path: recipe, overrides: options.overrides, grid: grid, dryRun: dryRun, executor: LocalTrainer())
        if status != 0 { throw ExitCode(status) }
    }
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Rewrite renamed TRL/transformers keys in a recipe to current names, keeping comments.")
    @Argument(help: "The recipe file.") var recipe: String
    @Flag(help: "Print the migrated recipe instead of rewriting the file.") var stdout = false
    func run() throws {
        let status = RecipeCommands().migrate(path: recipe, toStdout: stdout)
        if status != 0 { throw ExitCode(status) }
    }
}

extension RepoType: ExpressibleByArgument {}

struct Download: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Download files or a snapshot of a Hub repository into the HF cache and print the snapshot folder.",
        discussion: "Uses HF_ENDPOINT, HF_TOKEN, HF_HOME/HF_HUB_CACHE and HF_HUB_OFFLINE like huggingface_hub.")
    @Argument(help: "Repository id, e.g. facebook/opt-350m.") var repoID: String
    @Argument(help: "Files to download (default: the whole snapshot, filtered by --include/--exclude).") var files: [String] = []
    @Option(help: "Branch, tag or commit.") var revision = "main"
    @Option(help: "model or dataset.") var repoType: RepoType = .model
    @Option(help: ArgumentHelp("Only files matching this glob (repeatable).", valueName: "GLOB")) var include: [String] = []
    @Option(help: ArgumentHelp("Skip files matching this glob (repeatable).", valueName: "GLOB")) var exclude: [String] = []
    @Flag(help: "Use only the cache (same as HF_HUB_OFFLINE=1).") var offline = false
    func run() throws {
        var config = HubConfiguration.fromEnvironment()
        if offline { config.offline = true }
        let status = HubCommands(configuration: config).download(repo: repoID, files: files, revision: revision, type: repoType,
                                                                 include: include, exclude: exclude, progress: StandardProgressReporter())
        if status != 0 { throw ExitCode(status) }
    }
}

struct Cache: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Inspect or prune the Hugging Face cache and sftrun's data cache.",
                                                    subcommands: [List.self, Remove.self, ClearData.self])
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List cached repositories and data cache files with their sizes.")
        func run() throws {
            let status = HubCommands().list()
            DataCacheCommands().list()
            if status != 0 { throw ExitCode(status) }
        }
    }
    struct ClearData: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "clear-data", abstract: "Remove every file of the data cache (tokenized datasets).")
        func run() throws {
            let status = DataCacheCommands().clear()
            if status != 0 { throw ExitCode(status) }
        }
    }
    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Remove a repository from the cache.")
        @Argument(help: "Repository id.") var repoID: String
        @Option(help: "model or dataset.") var repoType: RepoType = .model
        func run() throws {
            let status = HubCommands().remove(repo: repoID, type: repoType)
            if status != 0 { throw ExitCode(status) }
        }
    }
}

struct Tokenize: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tokenize JSONL from stdin: {\"text\": ...} or {\"messages\": [...]} lines in, {\"ids\": [...]} lines out.",
        discussion: "With --chat-template, output lines also carry \"text\" (the rendered template) and \"assistant_mask\". A line that cannot be processed gives {\"error\": ...} and the exit status is 1. With --decode, {\"ids\": [...]} lines are decoded and text lines get \"decoded\".")
    @Option(help: "Folder with tokenizer.json (or vocab.json + merges.txt) and tokenizer_config.json.") var tokenizer: String
    @Flag(help: "Do not add the post-processor's special tokens (BOS/EOS).") var noSpecialTokens = false
    @Flag(help: "Render {\"messages\"} lines with the tokenizer's chat template.") var chatTemplate = false
    @Flag(help: "End the rendered chat with the assistant prompt.") var addGenerationPrompt = false
    @Flag(help: "Decode ids back to text.") var decode = false
    func run() throws {
        let tok: Tokenizer
        do { tok = try Tokenizer.load(directory: URL(fileURLWithPath: tokenizer)) } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
        do {
            let status = try TokenizeCommand(tokenizer: tok, addSpecialTokens: !noSpecialTokens, chatTemplate: chatTemplate,
                                             addGenerationPrompt: addGenerationPrompt, decode: decode).run()
            if status != 0 { throw ExitCode(status) }
        } catch let e as ExitCode { throw e } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the first processed examples as the model sees them, with loss-bearing text marked, and dataset statistics.")
    @Argument(help: "The recipe file.") var recipe: String
    @OptionGroup var options: RecipeOptions
    @Option(name: .customLong("n"), help: "How many examples to show.") var count = 3
    func run() throws {
        let status = InspectCommand().run(path: recipe, overrides: options.overrides, count: count)
        if status != 0 { throw ExitCode(status) }
    }
}

struct Eval: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Eval loss and perplexity of the recipe's model as it is, JSON on stdout.")
    @Argument(help: "The recipe file.") var recipe: String
    @OptionGroup var options: RecipeOptions
    @Flag(help: "Also score greedy generations from each eval row's prompt against its completion (exact match).") var exactMatch = false
    @Option(help: "Print this many generations with --exact-match.") var show = 0
    func run() throws {
        let status = EvalCommand.run(path: recipe, overrides: options.overrides, exactMatch: exactMatch, show: show)
        if status != 0 { throw ExitCode(status) }
    }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Generate text from a model (greedy unless --temperature > 0), streaming to stdout.")
    @Option(help: "Model: local folder, .gguf file or Hub repo id.") var model: String
    @Option(help: "LoRA adapter folder to apply.") var adapter: String?
    @Option(help: "Prompt text; with a chat template it is sent as one user message unless --raw.") var prompt: String?
    @Option(help: "JSON file with a messages list (chat).") var messages: String?
    @Flag(help: "Do not apply the chat template to --prompt.") var raw = false
    @Option(help: "Most tokens to generate.") var maxNewTokens = 64
    @Option(help: "Sampling temperature (0: greedy).") var temperature = 0.0
    @Option(help: "Keep the K most likely tokens (0: all).") var topK = 0
    @Option(help: "Nucleus sampling mass.") var topP = 1.0
    @Option(help: "Sampling seed.") var seed: UInt64 = 0
    @Option(help: "Stop when the output ends with this text (repeatable).") var stop: [String] = []
    func validate() throws {
        if (prompt == nil) == (messages == nil) { throw ValidationError("give exactly one of --prompt or --messages") }
    }
    func run() throws {
        do {
            let g = try Generator.load(model: model, adapter: adapter)
            var msgs: [Value]?
            if let messages {
                guard let data = FileManager.default.contents(atPath: messages) else { throw ValidationError("cannot read \(messages)") }
                msgs = try JSON.parse(bytes: [UInt8](data)).arrayValue
            } else if !raw, g.chat != nil, let prompt {
                msgs = [["role": "user", "content": .string(prompt)]]
            }
            var o = Generator.Options()
            o.maxNewTokens = maxNewTokens; o.temperature = temperature; o.topK = topK; o.topP = topP; o.seed = seed; o.stop = stop
            let ids = try g.promptIds(text: prompt, messages: msgs)
            try g.checkPromptLength(ids)
            _ = g.generate(ids, o) { piece in
                FileHandle.standardOutput.write(Data(piece.utf8))
            }
            print("")
        } catch let e as ValidationError { throw e } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct Chat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Chat with a model in the terminal: each line is a user turn, the reply streams back.",
        discussion: "The whole conversation goes through the chat template each turn (one KV cache kept across turns). /reset clears the history; /exit or end of input ends. Works with piped stdin.")
    @Option(help: "Model: local folder, .gguf file or Hub repo id.") var model: String
    @Option(help: "LoRA adapter folder to apply.") var adapter: String?
    @Option(help: "System message at the start of the conversation.") var system: String?
    @Option(help: "Most tokens per reply.") var maxNewTokens = 256
    @Option(help: "Sampling temperature (0: greedy).") var temperature = 0.0
    @Option(help: "Keep the K most likely tokens (0: all).") var topK = 0
    @Option(help: "Nucleus sampling mass.") var topP = 1.0
    @Option(help: "Sampling seed.") var seed: UInt64 = 0
    @Flag(help: "Print each rendered prompt to stderr.") var showPrompt = false
    func run() throws {
        do {
            var o = Generator.Options()
            o.maxNewTokens = maxNewTokens; o.temperature = temperature; o.topK = topK; o.topP = topP; o.seed = seed
            let session = try ChatSession(generator: try Generator.load(model: model, adapter: adapter), options: o, system: system)
            let terminal = isatty(0) != 0
            func err(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
            if terminal { err("chatting with \(model); /reset clears the history, /exit or Ctrl-D ends") }
            try session.run(
                readLine: {
                    if terminal { FileHandle.standardOutput.write(Data("> ".utf8)) }
                    return Swift.readLine()
                },
                write: { FileHandle.standardOutput.write(Data($0.utf8)) },
                note: err,
                showPrompt: showPrompt ? { err("--- prompt\n\($0)\n---") } : nil)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}

struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Merge a LoRA adapter into its base model and write a plain HF model folder.")
    @Option(help: "Base model: local folder, .gguf file or Hub repo id.") var model: String
    @Option(help: "Adapter folder (adapter_config.json + adapter_model.safetensors).") var adapter: String
    @Option(help: "Output folder.") var output: String
    @Option(help: "Saved dtype: float32, bfloat16 or float16.") var dtype = "float32"
    func run() throws {
        let status = MergeCommand.run(model: model, adapter: adapter, output: output, dtype: dtype)
        if status != 0 { throw ExitCode(status) }
    }
}

struct Quantize: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a bitsandbytes-quantized copy of a model (4-bit NF4/FP4 or 8-bit) that transformers and sftrun load.")
    @Option(help: "Model: local folder, .gguf file or Hub repo id.") var model: String
    @Option(help: "Output folder.") var output: String
    @Flag(name: .customLong("load-in-4bit"), help: "Blockwise 4-bit weights (bitsandbytes Params4bit).") var loadIn4bit = false
    @Flag(name: .customLong("load-in-8bit"), help: "Row-wise int8 weights (bitsandbytes Int8Params).") var loadIn8bit = false
    @Option(name: .customLong("bnb-4bit-quant-type"), help: "nf4 or fp4.") var quantType = "nf4"
    @Flag(name: .customLong("bnb-4bit-use-double-quant"), help: "Quantize the absmax statistics too.") var doubleQuant = false
    @Option(name: .customLong("bnb-4bit-compute-dtype"), help: "float32, bfloat16 or float16 (recorded in quantization_config).") var computeDtype = "float32"
    @Option(name: .customLong("llm-int8-skip-modules"), help: "Comma-separated module names kept in float.") var skipModules: String?
    @Option(help: "dtype of the unquantized weights (and of the weights before quantization): float32, bfloat16 or float16.") var dtype = "float32"
    func validate() throws {
        guard loadIn4bit != loadIn8bit else { throw ValidationError("give exactly one of --load-in-4bit and --load-in-8bit") }
        guard FourBitType(rawValue: quantType) != nil else { throw ValidationError("--bnb-4bit-quant-type must be nf4 or fp4, not \(quantType)") }
        guard ComputeDType(rawValue: computeDtype) != nil else { throw ValidationError("--bnb-4bit-compute-dtype must be float32, bfloat16 or float16") }
        guard ["float32", "bfloat16", "float16"].contains(dtype) else { throw ValidationError("--dtype must be float32, bfloat16 or float16") }
        if loadIn8bit, doubleQuant { throw ValidationError("--bnb-4bit-use-double-quant needs --load-in-4bit") }
    }
    func run() throws {
        let config = BitsAndBytesConfig(mode: loadIn4bit ? .fourBit(FourBitType(rawValue: quantType)!) : .eightBit, doubleQuant: doubleQuant,
                                        computeDType: ComputeDType(rawValue: computeDtype)!,
                                        skipModules: skipModules?.split(separator: ",").map { String($0).trimmingCharacters(in: .whitespaces) })
        let status = QuantizeCommand.run(model: model, output: output, config: config, dtype: dtype)
        if status != 0 { throw ExitCode(status) }
    }
}

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Benchmarks (build with -c release).",
                                                    subcommands: [TokenizeBench.self, KernelsBench.self, StepBench.self, GenerateBench.self, PrepareBench.self])
    struct KernelsBench: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "kernels", abstract: "GEMM vs raw sgemm, fused vs unfused loss, tiled vs plain attention, on SmolLM2-135M training shapes.")
        @Option(help: "Threads (0 = all cores).") var threads = 0
        func run() throws {
            let be = CPUBackend(threads: threads)
            print(String(format: "raw sgemm peak (2048×576×1536): %.1f GFLOP/s", KernelBenchmarks.sgemmPeak()))
            for (m, k, n) in [(2048, 576, 1536), (2048, 576, 576), (2048, 1536, 576), (2048, 576, 49152)] {
                for g in KernelBenchmarks.gemm(be, tokens: m, inFeatures: k, outFeatures: n) {
                    print(String(format: "gemm %@: backend %.1f GFLOP/s, raw %.1f GFLOP/s (%.1f %%)", g.label, g.backendGFLOPS, g.rawGFLOPS, 100 * g.backendGFLOPS / g.rawGFLOPS))
                }
            }
            for chunk in [LinearCrossEntropy.defaultChunkRows, 2048] {
                let r = KernelBenchmarks.crossEntropy(be, tokens: 2048, hidden: 576, vocab: 49152, chunkRows: chunk)
                print(String(format: "linear cross-entropy 2048×576→49152 %@: %.3f s, peak %.0f MB", chunk == 2048 ? "unfused" : "fused (chunk \(chunk))", r.seconds, Double(r.peakBytes) / 1e6))
            }
            for t in [512, 2048] {
                let shape = AttentionShape(batch: 4, seqLen: t, queryHeads: 9, kvHeads: 3, headDim: 64)
                for tiled in [true, false] {
                    let r = KernelBenchmarks.attention(be, shape: shape, tiled: tiled, repeats: t == 2048 ? 1 : 3)
                    print(String(format: "attention fwd+bwd B4 H9/3 D64 T=%d %@: %.3f s, peak %.0f MB", t, tiled ? "tiled" : "plain", r.seconds, Double(r.peakBytes) / 1e6))
                }
            }
        }
    }
    struct PrepareBench: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "prepare", abstract: "Read and tokenize a recipe's training data (no data cache): rows/s, tokens/s, peak RSS; then a data cache write and read.")
        @Argument(help: "The recipe file (scripts/bench/preprocess_trl.py writes matching ones).") var recipe: String
        @OptionGroup var options: RecipeOptions
        func run() throws {
            let r: PreparationBenchmark.Result
            do { r = try PreparationBenchmark.run(path: recipe, overrides: options.overrides) } catch {
                FileHandle.standardError.write(Data("\(error)\n".utf8))
                throw ExitCode(1)
            }
            print(String(format: "sftrun: %d rows → %d examples, %d tokens in %.2f s: %.0f rows/s, %.0f tokens/s; peak RSS %.0f MB (%.0f MB before reading the data); %d cores",
                         r.rows, r.examples, r.tokens, r.seconds, Double(r.rows) / r.seconds, Double(r.tokens) / r.seconds,
                         Double(r.peakRSSBytes) / 1e6, Double(r.baselineRSSBytes) / 1e6, ProcessInfo.processInfo.activeProcessorCount))
            print(String(format: "data cache: write %.3f s, read back %.3f s", r.cacheWriteSeconds, r.cacheReadSeconds))
        }
    }
    struct StepBench: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "step", abstract: "One forward+backward of a SmolLM2-135M-shaped random model: tokens/s and fraction of the sgemm peak.")
        @Option(help: "Batch size.") var batch = 4
        @Option(help: "Sequence length.") var seqLen = 512
        @Option(help: "Timed steps (median).") var steps = 3
        @Option(help: "Threads (0 = all cores).") var threads = 0
        @Flag(help: "Gradient checkpointing.") var checkpointing = false
        @Option(help: "LoRA rank on all linear layers (frozen base); omit for full fine-tuning.") var lora: Int?
        @Option(help: "Frozen base storage with --lora: float32, bfloat16, int8, nf4 or fp4.") var base = "float32"
        @Flag(help: "Double quantization of the 4-bit absmax values (nf4/fp4 bases).") var doubleQuant = false
        @Flag(help: "Print where the time of the timed steps went, per op.") var profile = false
        func validate() throws {
            guard TrainingBenchmark.BaseStorage(base, doubleQuant: doubleQuant) != nil else { throw ValidationError("--base must be float32, bfloat16, int8, nf4 or fp4") }
            if base != "float32", lora == nil { throw ValidationError("--base \(base) needs --lora (a quantized or 16-bit base is frozen)") }
        }
        func run() throws {
            let config = try DecoderConfig(json: TrainingBenchmark.smolLM2Config)
            let peak = KernelBenchmarks.sgemmPeak()
            let r = try TrainingBenchmark.run(config: config, batch: batch, seqLen: seqLen, steps: steps, threads: threads, checkpointing: checkpointing,
                                              loraRank: lora, base: TrainingBenchmark.BaseStorage(base, doubleQuant: doubleQuant)!, profile: profile)
            let what = (checkpointing ? " (checkpointing)" : "") + (lora.map { ", LoRA r=\($0) all-linear on a \(base)\(doubleQuant ? "+dq" : "") base" } ?? ", full fine-tune")
            print(String(format: "SmolLM2-135M shape, batch %d × %d%@: %.2f s/step, %.1f tokens/s, %.3f GFLOP/token (6·N + 12·L·T·d), %.1f GFLOP/s = %.1f %% of the %.1f GFLOP/s sgemm peak; weights %.1f MB, peak step tensor memory %.2f GB",
                         batch, seqLen, what, r.secondsPerStep, r.tokensPerSecond, r.gflopPerToken, r.achievedGFLOPS,
                         100 * r.achievedGFLOPS / peak, peak, Double(r.weightBytes) / 1e6, Double(r.peakTrackedBytes) / 1e9))
            if profile { print(Profiler.shared.report(title: "\(steps + 1) steps, the warm-up included").joined(separator: "\n")) }
        }
    }
    struct GenerateBench: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "generate", abstract: "Greedy generation at batch 1 through the KV cache: prefill and decode tokens/s, one JSON line (scripts/bench/transformers_generate.py is the transformers side).")
        @Option(help: "Model: local folder, .gguf file or Hub repo id.") var model: String
        @Option(help: "Prompt text (tokenized as plain text with the tokenizer's special tokens).") var prompt = "The history of the printing press begins in"
        @Option(help: "New tokens to generate (EOS does not stop it).") var maxNewTokens = 64
        @Option(help: "Threads (0 = all cores).") var threads = 0
        func run() throws {
            let g = try Generator.load(model: model, adapter: nil, threads: threads)
            let r = try GenerationBenchmark.run(g, prompt: prompt, maxNewTokens: maxNewTokens)
            print(r.json(model: model, threads: threads > 0 ? threads : ProcessInfo.processInfo.activeProcessorCount))
        }
    }
    struct TokenizeBench: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "tokenize", abstract: "Encode throughput (MB/s) on a text file, one example per line: one core and all cores.")
        @Option(help: "Tokenizer folder.") var tokenizer: String
        @Argument(help: "Text file, one example per line.") var file: String
        func run() throws {
            let tok = try Tokenizer.load(directory: URL(fileURLWithPath: tokenizer))
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { throw ValidationError("cannot read \(file)") }
            let lines = text.split(separator: "\n").map(String.init)
            let r = TokenizerBenchmark.run(tokenizer: tok, lines: lines)
            print(String(format: "%.2f MB, %d lines, %d tokens: one core %.2f MB/s, all cores %.2f MB/s", r.megabytes, r.lines, r.tokens, r.oneCoreMBps, r.allCoresMBps))
        }
    }
}

// Usage errors exit with 2 (ArgumentParser's default is 64), as the validate contract says.
do {
    var command = try Sftrun.parseAsRoot()
    try command.run()
} catch {
    let code = Sftrun.exitCode(for: error)
    if code == .success {
        Sftrun.exit(withError: error)
    } else if code.rawValue == 64 {
        FileHandle.standardError.write(Data((Sftrun.fullMessage(for: error) + "\n").utf8))
        exit(2)
    } else if error is ExitCode {
        exit(code.rawValue)
    } else {
        Sftrun.exit(withError: error)
    }
}
