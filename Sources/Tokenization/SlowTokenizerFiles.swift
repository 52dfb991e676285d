import Foundation
import Values

/// Folders without tokenizer.json (facebook/opt-350m ships only vocab.json + merges.txt): the tokenizer that
/// transformers builds from the slow files and the special-token files, written as the tokenizer.json it equals.
extension Tokenizer {
    /// transformers' legacy loading: special_tokens_map.json entries override tokenizer_config.json's unless the
    /// config carries `added_tokens_decoder` (then the map is not read at all).
    static func mergingSpecialTokensMap(_ map: Value, into config: Value?) -> Value? {
        guard config?["added_tokens_decoder"] == nil, let m = map.objectValue else { return config }
        var c = config?.objectValue ?? [:]
        for (k, v) in m where !v.isNull { c[k] = v }
        return .object(c)
    }

    /// The tokenizer.json that transformers' `GPT2Tokenizer` builds from a slow vocab.json + merges.txt: byte-level
    /// BPE with the config's `add_prefix_space`, the named special tokens (bos/eos/unk default to
    /// `<|endoftext|>`, as GPT2Tokenizer's do) added as special tokens when not already added, and
    /// `add_bos_token`/`add_eos_token` as the post-processor template (OPT prepends `</s>` this way).
    static func slowGPT2(vocab: Value, merges url: URL, config: Value?) throws -> Value {
        guard let d = FileManager.default.contents(atPath: url.path) else { throw TokenizerError("\(url.path) cannot be read; check its permissions") }
        var merges: [Value] = []
        for line in String(decoding: d, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true) {
            let l = line.hasSuffix("\r") ? line.dropLast() : line
            if l.hasPrefix("#version") || l.isEmpty { continue }
            merges.append(.string(String(l)))
        }
        guard let vocabObject = vocab.objectValue else { throw TokenizerError("vocab.json: must be an object of token to id; fix the file") }
        var added: [Value] = []
        var addedContents = Set<String>()
        var nextId = vocabObject.count
        for (k, t) in (config?["added_tokens_decoder"]?.objectValue ?? [:]).sorted(by: { (Int($0.key) ?? 0) < (Int($1.key) ?? 0) }) {
            guard let id = Int(k), let c = t["content"]?.stringValue else { continue }
            var o = t.objectValue ?? [:]
            o["id"] = .int(id)
            added.append(.object(o)); addedContents.insert(c); nextId = max(nextId, id + 1)
        }
        func named(_ key: String) -> [Value] {
            guard let v = config?[key], !v.isNull else { return [] }
            return v.arrayValue ?? [v]
        }
        let defaults: [String: Value] = ["bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>"]
        let keys = ["bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"]
        var specials: [Value] = []
        for k in keys {
            if config?[k] != nil { specials += named(k) } else if let d = defaults[k] { specials.append(d) }
        }
        specials += named("additional_special_tokens") + named("extra_special_tokens")
        for t in specials {
            guard let c = t.stringValue ?? t["content"]?.stringValue, !c.isEmpty, !addedContents.contains(c) else { continue }
            let id = vocabObject[c]?.intValue ?? { defer { nextId += 1 }; return nextId }()
            func flag(_ k: String) -> Value { .bool(t[k]?.boolValue ?? false) }
            let entry: Value = ["id": .int(id), "content": .string(c), "special": true, "normalized": flag("normalized"),
                                "lstrip": flag("lstrip"), "rstrip": flag("rstrip"), "single_word": flag("single_word")]
            added.append(entry)
            addedContents.insert(c)
        }
        func tokenString(_ key: String) -> String? { (config?[key] ?? defaults[key]).flatMap { $0.stringValue ?? $0["content"]?.stringValue } }
        let bos = (config?["add_bos_token"]?.boolValue ?? false) ? tokenString("bos_token") : nil
        let eos = (config?["add_eos_token"]?.boolValue ?? false) ? tokenString("eos_token") : nil
        var post: Value = .null
        if bos != nil || eos != nil {
            func special(_ c: String, _ type: Int) -> Value { ["SpecialToken": ["id": .string(c), "type_id": .int(type)]] }
            func one(_ s: String, _ type: Int) -> [Value] {
                (bos.map { [special($0, type)] } ?? []) + [["Sequence": ["id": .string(s), "type_id": .int(type)]]] + (eos.map { [special($0, type)] } ?? [])
            }
            var table: Value = [:]
            for c in [bos, eos].compactMap({ $0 }) {
                guard let id = vocabObject[c]?.intValue ?? added.first(where: { $0["content"]?.stringValue == c })?["id"]?.intValue else { continue }
                if case .object(var o) = table { o[c] = ["id": .string(c), "ids": [.int(id)], "tokens": [.string(c)]]; table = .object(o) }
            }
            post = ["type": "TemplateProcessing", "single": .array(one("A", 0)), "pair": .array(one("A", 0) + one("B", 1)), "special_tokens": table]
        }
        return ["model": ["type": "BPE", "vocab": vocab, "merges": .array(merges)],
                "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": .bool(config?["add_prefix_space"]?.boolValue ?? false), "use_regex": true],
                "decoder": ["type": "ByteLevel"], "added_tokens": .array(added), "post_processor": post]
    }
}
