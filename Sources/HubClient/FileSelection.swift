/// Which repo files to fetch: huggingface_hub's `allow_patterns`/`ignore_patterns` (fnmatch) and the weight/
/// config/tokenizer set a fine-tuning run needs.
public enum FileSelection {
    /// Python `fnmatch.fnmatchcase`: `*` matches anything (also `/`), `?` one character, `[seq]`/`[!seq]` a set.
    public static func fnmatch(_ name: String, _ pattern: String) -> Bool {
        let n = Array(name.unicodeScalars), p = Array(pattern.unicodeScalars)
        func match(_ i: Int, _ j: Int) -> Bool {
            var i = i, j = j
            while j < p.count {
                switch p[j] {
                case "*":
                    var k = j
                    while k < p.count, p[k] == "*" { k += 1 }
                    if k == p.count { return true }
                    for s in i...n.count where match(s, k) { return true }
                    return false
                case "?":
                    guard i < n.count else { return false }
                    i += 1; j += 1
                case "[":
                    var close = j + 1
                    if close < p.count, p[close] == "!" { close += 1 }
                    if close < p.count, p[close] == "]" { close += 1 }
                    while close < p.count, p[close] != "]" { close += 1 }
                    if close >= p.count {
                        guard i < n.count, n[i] == "[" else { return false }
                        i += 1; j += 1; continue
                    }
                    guard i < n.count else { return false }
                    var k = j + 1, negate = false, found = false
                    if p[k] == "!" { negate = true; k += 1 }
                    while k < close {
                        if k + 2 < close, p[k + 1] == "-" {
                            if p[k].value <= n[i].value && n[i].value <= p[k + 2].value { found = true }
                            k += 3
                        } else {
                            if p[k] == n[i] { found = true }
                            k += 1
                        }
                    }
                    if found == negate { return false }
                    i += 1; j = close + 1
                default:
                    guard i < n.count, n[i] == p[j] else { return false }
                    i += 1; j += 1
                }
            }
            return i == n.count
        }
        return match(0, 0)
    }

    /// huggingface_hub `filter_repo_objects`: keep paths matching any `include` (all if nil) and no `exclude`;
    /// a pattern ending in "/" means the whole folder.
    public static func filter(_ paths: [String], include: [String]?, exclude: [String]?) -> [String] {
        func norm(_ p: String) -> String { p.hasSuffix("/") ? p + "*" : p }
        let inc = include?.map(norm), exc = (exclude ?? []).map(norm)
        return paths.filter { path in
            (inc.map { $0.contains { fnmatch(path, $0) } } ?? true) && !exc.contains { fnmatch(path, $0) }
        }
    }

    /// Config, generation config, tokenizer and chat-template files (all optional).
    public static let configAndTokenizerFiles = [
        "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json",
        "special_tokens_map.json", "added_tokens.json", "tokenizer.model", "vocab.json", "merges.txt",
        "vocab.txt", "chat_template.jinja", "chat_template.json",
    ]

    /// The weight files to fetch, preferring safetensors: the shards of `model.safetensors.index.json`, else
    /// `model.safetensors`; `pytorch_model.bin` (or its index's shards) only when no safetensors exist.
    /// `readIndex` loads an index file and returns its `weight_map` values. Returns nil when no weights exist.
    public static func weightFiles(in paths: [String], readIndex: (String) throws -> [String]) throws -> [String]? {
        let set = Set(paths)
        for (index, single) in [("model.safetensors.index.json", "model.safetensors"), ("pytorch_model.bin.index.json", "pytorch_model.bin")] {
            if set.contains(index) {
                let shards = Array(Set(try readIndex(index))).sorted()
                for s in shards { try RepoPath.validate(s) }
                return [index] + shards
            }
            if set.contains(single) { return [single] }
        }
        return nil
    }
}
