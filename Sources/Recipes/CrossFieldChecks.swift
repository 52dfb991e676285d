import Values

/// Rules that span several keys, which JSON Schema cannot say; each message carries the fix.
enum CrossFieldChecks {
    static func run(_ v: Value, doc: RecipeDocument) -> [Diagnostic] {
        var out: [Diagnostic] = []
        func error(_ path: ValuePath, _ message: String) {
            out.append(Diagnostic(.error, path, message, origin: doc.origin(for: path)))
        }
        func warn(_ path: ValuePath, _ message: String) {
            out.append(Diagnostic(.warning, path, message, origin: doc.origin(for: path)))
        }
        let q = v["quantization"]
        let has4 = q?["load_in_4bit"]?.boolValue == true, has8 = q?["load_in_8bit"]?.boolValue == true
        if has4 && has8 {
            error(["quantization", "load_in_4bit"], "load_in_4bit and load_in_8bit are both true; choose one")
        }
        if (has4 || has8) && v["peft"] == nil {
            error(["quantization", has4 ? "load_in_4bit" : "load_in_8bit"],
                  "quantized base weights are frozen, so a full fine-tune cannot train them; add a `peft:` section (e.g. `peft: {method: lora, r: 16}`) or remove the quantization")
        }
        if let q, !has4 {
            for key in ["bnb_4bit_use_double_quant"] where doc.origins[["quantization", .key(key)]] != .defaulted && q[key]?.boolValue == true {
                warn(["quantization", .key(key)], "has no effect without load_in_4bit: true")
            }
        }
        let data = v["data"] ?? [:]
        let format = data["format"]?.stringValue ?? "auto"
        let packing = data["packing"]?.boolValue == true
        if data["completion_only_loss"]?.boolValue == true && format == "text" {
            error(["data", "completion_only_loss"], "needs prompt/completion data, but data.format is text; set data.format: instruction (prompt/completion columns) or use data.response_template to split text rows")
        }
        if data["assistant_only_loss"]?.boolValue == true && (format == "text" || format == "instruction") {
            error(["data", "assistant_only_loss"], "needs conversational data (a messages column), but data.format is \(format); set data.format: conversational or use completion_only_loss")
        }
        let hasResponse = !(data["response_template"]?.isNull ?? true)
        if hasResponse && packing && data["packing_strategy"]?.stringValue == "wrapped" {
            error(["data", "response_template"], "cannot be used with packing_strategy: wrapped (rows are cut across examples, so a template can be cut in half); use packing_strategy: bfd or turn packing off")
        }
        if !(data["instruction_template"]?.isNull ?? true) && !hasResponse {
            error(["data", "instruction_template"], "needs data.response_template as well (completion-only loss is marked from the response template)")
        }
        if hasResponse && data["completion_only_loss"]?.boolValue == false {
            error(["data", "response_template"], "marks completion-only loss, but data.completion_only_loss is false; remove one of them")
        }
        let hasEval = !(data["eval"]?.isNull ?? true)
        let valSize = data["val_set_size"]?.doubleValue ?? 0
        if hasEval && valSize > 0 {
            error(["data", "val_set_size"], "both data.eval and data.val_set_size are set; keep data.eval, or remove it to carve an eval split from train")
        }
        let training = v["training"] ?? [:]
        if training["eval_strategy"]?.stringValue != "no" && !hasEval && valSize == 0 {
            error(["training", "eval_strategy"], "evaluation needs data; add data.eval or data.val_set_size (e.g. 0.05), or set eval_strategy: no")
        }
        if (training["warmup_steps"]?.intValue ?? 0) > 0 && (training["warmup_ratio"]?.doubleValue ?? 0) > 0 {
            error(["training", "warmup_ratio"], "warmup_steps and warmup_ratio are both set; keep one")
        }
        if training["lr_scheduler_type"]?.stringValue == "cosine_with_min_lr" {
            let kw = training["lr_scheduler_kwargs"]
            if kw?["min_lr"] == nil && kw?["min_lr_rate"] == nil {
                error(["training", "lr_scheduler_type"], "cosine_with_min_lr needs training.lr_scheduler_kwargs.min_lr or min_lr_rate (e.g. min_lr_rate: 0.1)")
            }
        }
        if training["optim"]?.stringValue != "sgd", let args = training["optim_args"]?.stringValue, args.contains("momentum") {
            warn(["training", "optim_args"], "momentum applies to optim: sgd only")
        }
        if let p = v["peft"], p["adapter_path"]?.isNull == false, doc.origins[["peft", "r"]] != .defaulted && doc.origins[["peft", "r"]] != nil {
            warn(["peft", "r"], "is taken from the adapter at peft.adapter_path; this value is ignored")
        }
        if v["sweep"] != nil, training["resume_from_checkpoint"].map({ !$0.isNull && $0 != .bool(false) }) == true {
            error(["training", "resume_from_checkpoint"], "cannot resume a whole sweep from one checkpoint; resume the single run with `sftrun train` on its recipe.resolved.yaml")
        }
        return out
    }
}
