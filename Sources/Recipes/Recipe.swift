import Values

/// Typed settings decoded from a resolved recipe (defaults already filled). Training code takes these, never YAML.
public struct Recipe: Sendable, Equatable {
    public struct Model: Sendable, Equatable {
        public var nameOrPath: String
        public var revision: String
        public var dtype: String
        public var attnImplementation: String
    }
    public struct Tokenizer: Sendable, Equatable {
        public var nameOrPath: String?
        public var chatTemplate: String?
        public var padToken: String?
        public var eosToken: String?
        public var resizeToMultipleOf: Int?
        public var additionalSpecialTokens: [String]
    }
    public struct Quantization: Sendable, Equatable {
        public var loadIn8bit: Bool
        public var loadIn4bit: Bool
        public var quantType: String
        public var useDoubleQuant: Bool
        public var computeDtype: String
        public var quantStorage: String
        public var int8Threshold: Double
        public var skipModules: [String]?
        public var saveQuantized: Bool
    }
    public struct LoRA: Sendable, Equatable {
        public enum Targets: Sendable, Equatable { case architectureDefault, names([String]), pattern(String), allLinear }
        public var r: Int
        public var alpha: Double
        public var dropout: Double
        public var bias: String
        public var targetModules: Targets
        public var modulesToSave: [String]
        public var ensureWeightTying: Bool
        public var useRSLoRA: Bool
        public var initWeights: String
        public var adapterPath: String?
    }
    public struct Source: Sendable, Equatable {
        public var path: String
        public var split: String
        public var name: String?
        public var revision: String?
        public var dataFiles: [String]
        public var type: String
        public var field: String?
    }
    public struct Data: Sendable, Equatable {
        public enum TemplateTokens: Sendable, Equatable { case text(String), ids([Int]) }
        public var train: [Source]
        public var eval: [Source]
        public var valSetSize: Double
        public var format: String
        public var datasetTextField: String
        public var template: String?
        public var maxLength: Int?
        public var packing: Bool
        public var packingStrategy: String
        public var evalPacking: Bool
        public var padToMultipleOf: Int?
        public var completionOnlyLoss: Bool?
        public var assistantOnlyLoss: Bool
        public var responseTemplate: TemplateTokens?
        public var instructionTemplate: TemplateTokens?
        public var shuffle: Bool
        public var addEOS: Bool
        public var maxUnsupervisedFraction: Double
        public var onBadRow: String
        /// Reuse tokenized examples from the on-disk data cache (`data.cache`).
        public var cache: Bool
    }
    public struct Training: Sendable, Equatable {
        public var outputDir: String
        public var runName: String?
        public var numTrainEpochs: Double
        public var maxSteps: Int
        public var perDeviceTrainBatchSize: Int
        public var perDeviceEvalBatchSize: Int
        public var gradientAccumulationSteps: Int
        public var learningRate: Double
        public var lrSchedulerType: String
        public var lrSchedulerKwargs: [String: Double]
        public var warmupSteps: Int
        public var warmupRatio: Double
        public var weightDecay: Double
        public var adamBeta1: Double
        public var adamBeta2: Double
        public var adamEpsilon: Double
        public var optim: String
        public var optimArgs: String?
        public var maxGradNorm: Double
        public var neftuneNoiseAlpha: Double?
        public var gradientCheckpointing: Bool
        public var loggingSteps: Double
        public var loggingFirstStep: Bool
        public var evalStrategy: String
        public var evalSteps: Double?
        public var saveStrategy: String
        public var saveSteps: Double
        public var saveTotalLimit: Int?
        public enum Resume: Sendable, Equatable { case no, latest, path(String) }
        public var resumeFromCheckpoint: Resume
        public var seed: Int
        public var dataSeed: Int?
        public var reportTo: [String]
        public var skipNonfinite: Bool
        public var mergeAdapter: Bool
        public var samplePrompts: [String]
    }

    public var model: Model
    public var tokenizer: Tokenizer
    public var quantization: Quantization? = nil
    /// nil: full fine-tuning.
    public var lora: LoRA? = nil
    public var data: Data
    public var training: Training
    public var device: String
    public var threads: Int?

    /// Decodes a resolved value; the schema has already checked every type, so missing values fall back quietly.
    public init(_ v: Value) {
        func s(_ v: Value?, _ k: String) -> String? { v?[k]?.stringValue }
        func d(_ v: Value?, _ k: String) -> Double? { v?[k]?.doubleValue }
        func i(_ v: Value?, _ k: String) -> Int? { v?[k]?.intValue }
        func b(_ v: Value?, _ k: String) -> Bool? { v?[k]?.boolValue }
        func strings(_ v: Value?) -> [String] {
            if let one = v?.stringValue { return [one] }
            return v?.arrayValue?.compactMap(\.stringValue) ?? []
        }
        let m = v["model"]
        model = Model(nameOrPath: s(m, "name_or_path") ?? "", revision: s(m, "revision") ?? "main",
                      dtype: s(m, "dtype") ?? "float32", attnImplementation: s(m, "attn_implementation") ?? "sdpa")
        let t = v["tokenizer"]
        tokenizer = Tokenizer(nameOrPath: s(t, "name_or_path"), chatTemplate: s(t, "chat_template"), padToken: s(t, "pad_token"),
                              eosToken: s(t, "eos_token"), resizeToMultipleOf: i(t, "resize_to_multiple_of"),
                              additionalSpecialTokens: strings(t?["additional_special_tokens"]))
        if let q = v["quantization"] {
            quantization = Quantization(loadIn8bit: b(q, "load_in_8bit") ?? false, loadIn4bit: b(q, "load_in_4bit") ?? false,
                                        quantType: s(q, "bnb_4bit_quant_type") ?? "nf4", useDoubleQuant: b(q, "bnb_4bit_use_double_quant") ?? false,
                                        computeDtype: s(q, "bnb_4bit_compute_dtype") ?? "float32", quantStorage: s(q, "bnb_4bit_quant_storage") ?? "uint8",
                                        int8Threshold: d(q, "llm_int8_threshold") ?? 6, skipModules: q["llm_int8_skip_modules"]?.arrayValue?.compactMap(\.stringValue),
                                        saveQuantized: b(q, "save_quantized") ?? false)
        }
        if let p = v["peft"] {
            let targets: LoRA.Targets
            switch p["target_modules"] {
            case .string("all-linear")?: targets = .allLinear
            case .string(let re)?: targets = .pattern(re)
            case .array(let names)?: targets = .names(names.compactMap(\.stringValue))
            default: targets = .architectureDefault
            }
            let initWeights: String
            switch p["init_lora_weights"] {
            case .string(let g)?: initWeights = g
            case .bool(false)?: initWeights = "false"
            default: initWeights = "true"
            }
            lora = LoRA(r: i(p, "r") ?? 8, alpha: d(p, "lora_alpha") ?? 8, dropout: d(p, "lora_dropout") ?? 0, bias: s(p, "bias") ?? "none",
                        targetModules: targets, modulesToSave: strings(p["modules_to_save"]),
                        ensureWeightTying: b(p, "ensure_weight_tying") ?? false, useRSLoRA: b(p, "use_rslora") ?? false,
                        initWeights: initWeights, adapterPath: s(p, "adapter_path"))
        }
        func sources(_ v: Value?) -> [Source] {
            guard let v, !v.isNull else { return [] }
            return (v.arrayValue ?? [v]).map { src in
                Source(path: s(src, "path") ?? "", split: s(src, "split") ?? "train", name: s(src, "name"), revision: s(src, "revision"),
                       dataFiles: strings(src["data_files"]), type: s(src, "type") ?? "auto", field: s(src, "field"))
            }
        }
        func tokens(_ v: Value?) -> Data.TemplateTokens? {
            if let t = v?.stringValue { return .text(t) }
            if let ids = v?.arrayValue { return .ids(ids.compactMap(\.intValue)) }
            return nil
        }
        let dv = v["data"]
        let packing = b(dv, "packing") ?? false
        data = Data(train: sources(dv?["train"]), eval: sources(dv?["eval"]), valSetSize: d(dv, "val_set_size") ?? 0,
                    format: s(dv, "format") ?? "auto", datasetTextField: s(dv, "dataset_text_field") ?? "text", template: s(dv, "template"),
                    maxLength: i(dv, "max_length"), packing: packing, packingStrategy: s(dv, "packing_strategy") ?? "bfd",
                    evalPacking: b(dv, "eval_packing") ?? packing, padToMultipleOf: i(dv, "pad_to_multiple_of"),
                    completionOnlyLoss: b(dv, "completion_only_loss"), assistantOnlyLoss: b(dv, "assistant_only_loss") ?? false,
                    responseTemplate: tokens(dv?["response_template"]), instructionTemplate: tokens(dv?["instruction_template"]),
                    shuffle: b(dv, "shuffle") ?? true, addEOS: b(dv, "add_eos") ?? true,
                    maxUnsupervisedFraction: d(dv, "max_unsupervised_fraction") ?? 0.01, onBadRow: s(dv, "on_bad_row") ?? "error",
                    cache: b(dv, "cache") ?? true)
        let tr = v["training"]
        var kwargs: [String: Double] = [:]
        for (k, x) in tr?["lr_scheduler_kwargs"]?.objectValue ?? [:] { kwargs[k] = x.doubleValue }
        let resume: Training.Resume
        switch tr?["resume_from_checkpoint"] {
        case .bool(true)?: resume = .latest
        case .string(let p)?: resume = .path(p)
        default: resume = .no
        }
        training = Training(
            outputDir: s(tr, "output_dir") ?? "trainer_output", runName: s(tr, "run_name"), numTrainEpochs: d(tr, "num_train_epochs") ?? 3,
            maxSteps: i(tr, "max_steps") ?? -1, perDeviceTrainBatchSize: i(tr, "per_device_train_batch_size") ?? 8,
            perDeviceEvalBatchSize: i(tr, "per_device_eval_batch_size") ?? 8, gradientAccumulationSteps: i(tr, "gradient_accumulation_steps") ?? 1,
            learningRate: d(tr, "learning_rate") ?? 2e-5, lrSchedulerType: s(tr, "lr_scheduler_type") ?? "linear", lrSchedulerKwargs: kwargs,
            warmupSteps: i(tr, "warmup_steps") ?? 0, warmupRatio: d(tr, "warmup_ratio") ?? 0, weightDecay: d(tr, "weight_decay") ?? 0,
            adamBeta1: d(tr, "adam_beta1") ?? 0.9, adamBeta2: d(tr, "adam_beta2") ?? 0.999, adamEpsilon: d(tr, "adam_epsilon") ?? 1e-8,
            optim: s(tr, "optim") ?? "adamw_torch", optimArgs: s(tr, "optim_args"), maxGradNorm: d(tr, "max_grad_norm") ?? 1,
            neftuneNoiseAlpha: d(tr, "neftune_noise_alpha"), gradientCheckpointing: b(tr, "gradient_checkpointing") ?? false,
            loggingSteps: d(tr, "logging_steps") ?? 10, loggingFirstStep: b(tr, "logging_first_step") ?? false,
            evalStrategy: s(tr, "eval_strategy") ?? "no", evalSteps: d(tr, "eval_steps"), saveStrategy: s(tr, "save_strategy") ?? "steps",
            saveSteps: d(tr, "save_steps") ?? 500, saveTotalLimit: i(tr, "save_total_limit"), resumeFromCheckpoint: resume,
            seed: i(tr, "seed") ?? 42, dataSeed: i(tr, "data_seed"), reportTo: strings(tr?["report_to"]),
            skipNonfinite: b(tr, "skip_nonfinite") ?? false, mergeAdapter: b(tr, "merge_adapter") ?? false,
            samplePrompts: strings(tr?["sample_prompts"]))
        device = v["device"]?.stringValue ?? "auto"
        threads = v["threads"]?.intValue
    }
}
