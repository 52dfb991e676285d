import Values

/// Names that TRL or transformers renamed or removed, still found in the SFT documentation users read.
/// Each is read with its current meaning and a one-line note; `sftrun migrate` rewrites them in place.
public struct LegacyName: Sendable {
    public var old: ValuePath
    public var new: ValuePath
    /// Old scalar values mapped to new ones (e.g. `setup_chat_format: true` → `chat_template: chatml`).
    public var valueMap: [Value: Value]
    public var why: String

    public static let all: [LegacyName] = [
        LegacyName(old: ["data", "max_seq_length"], new: ["data", "max_length"], why: "TRL renamed max_seq_length to max_length in v0.16 and removed the old name in v0.20"),
        LegacyName(old: ["training", "max_seq_length"], new: ["data", "max_length"], why: "TRL renamed max_seq_length to max_length in v0.16; sftrun keeps it under data"),
        LegacyName(old: ["training", "evaluation_strategy"], new: ["training", "eval_strategy"], why: "transformers renamed evaluation_strategy to eval_strategy in 4.46"),
        LegacyName(old: ["model", "torch_dtype"], new: ["model", "dtype"], why: "transformers 5 renamed torch_dtype to dtype"),
        LegacyName(old: ["tokenizer", "setup_chat_format"], new: ["tokenizer", "chat_template"], valueMap: [.bool(true): "chatml", "chatml": "chatml"],
                   why: "TRL removed setup_chat_format in v0.26; chat_template: chatml does the same (adds ChatML tokens and template)"),
        LegacyName(old: ["training", "packing"], new: ["data", "packing"], why: "SFTConfig's packing lives under data in sftrun"),
        LegacyName(old: ["training", "dataset_text_field"], new: ["data", "dataset_text_field"], why: "SFTConfig's dataset_text_field lives under data in sftrun"),
    ]

    /// Values renamed in place (same key).
    public static let values: [(path: ValuePath, old: Value, new: Value, why: String)] = [
        (["data", "packing_strategy"], "ffd", "bfd", "TRL renamed packing_strategy ffd to bfd in v0.20"),
        (["data", "packing_strategy"], "bfd-requeue", "bfd_split", "TRL renamed packing_strategy bfd-requeue to bfd_split"),
    ]

    init(old: [String], new: [String], valueMap: [Value: Value] = [:], why: String) {
        self.old = old.map { .key($0) }
        self.new = new.map { .key($0) }
        self.valueMap = valueMap
        self.why = why
    }
}

extension RecipeDocument {
    /// Rewrites legacy names to current ones, returning a note for each and errors where both spellings are set.
    mutating func applyLegacyNames() -> [Diagnostic] {
        var out: [Diagnostic] = []
        for legacy in LegacyName.all {
            guard let old = value.value(at: legacy.old) else { continue }
            let at = origin(for: legacy.old, key: true)
            if value.value(at: legacy.new) != nil {
                out.append(Diagnostic(.error, legacy.old, "both \(legacy.old.dotted) and \(legacy.new.dotted) are set; \(legacy.why) — keep only \(legacy.new.dotted)", origin: at))
                continue
            }
            var newValue = old
            if !legacy.valueMap.isEmpty {
                guard let mapped = legacy.valueMap[old] else {
                    out.append(Diagnostic(.error, legacy.old, "\(legacy.why); write \(legacy.new.dotted) instead", origin: at))
                    remove(legacy.old)
                    continue
                }
                newValue = mapped
            }
            remove(legacy.old)
            value.setValue(newValue, at: legacy.new)
            origins[legacy.new] = origins[legacy.old] ?? at
            keyOrigins[legacy.new] = at
            out.append(Diagnostic(.note, legacy.old, "read as \(legacy.new.dotted)\(newValue == old ? "" : ": \(YAMLWriter.scalar(newValue))") (\(legacy.why)); `sftrun migrate` rewrites it", origin: at))
        }
        for rename in LegacyName.values where value.value(at: rename.path) == rename.old {
            value.setValue(rename.new, at: rename.path)
            out.append(Diagnostic(.note, rename.path, "\(YAMLWriter.scalar(rename.old)) read as \(YAMLWriter.scalar(rename.new)) (\(rename.why)); `sftrun migrate` rewrites it",
                                  origin: origin(for: rename.path)))
        }
        return out
    }

    mutating func remove(_ path: ValuePath) {
        guard case .key(let last) = path.last else { return }
        let parent = Array(path.dropLast())
        guard case .object(var o)? = value.value(at: parent) else { return }
        o.removeValue(forKey: last)
        value.setValue(.object(o), at: parent)
    }
}
