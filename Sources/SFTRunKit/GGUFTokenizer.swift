import Foundation
import OrderedCollections
import Values
import WeightFiles

/// Writes tokenizer.json and tokenizer_config.json for a llama.cpp GGUF model, so a `.gguf` file is a complete
/// model source. Byte-level BPE vocabularies (`tokenizer.ggml.model` "gpt2") with the pre-tokenizers llama.cpp
/// names are rebuilt as the `tokenizers` library would load them; control and user-defined tokens become added
/// special tokens.
public enum GGUFTokenizer {
    /// Regexes of llama.cpp's pre-tokenizer types (llama-vocab.cpp) in `tokenizers` JSON form.
    static func preTokenizer(_ type: String, file: String) throws -> Value {
        func byteLevel(regex: Bool) -> Value {
            ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": .bool(regex)]
        }
        func split(_ pattern: String) -> Value {
            ["type": "Split", "pattern": ["Regex": .string(pattern)], "behavior": "Isolated", "invert": false]
        }
        switch type {
        case "default", "gpt2", "gpt-2":
            return byteLevel(regex: true)
        case "smollm", "starcoder", "refact":
            return ["type": "Sequence", "pretokenizers": [["type": "Digits", "individual_digits": true], byteLevel(regex: true)]]
        case "llama3", "llama-bpe", "llama-v3":
            return ["type": "Sequence", "pretokenizers": [
                split(#"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#),
                byteLevel(regex: false)]]
        case "qwen2":
            return ["type": "Sequence", "pretokenizers": [
                split(#"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#),
                byteLevel(regex: false)]]
        default:
            throw WeightFileError(file: file, "tokenizer.ggml.pre \"\(type)\" is not one sftrun can rebuild; set tokenizer.name_or_path to the model's HF tokenizer folder")
        }
    }

    /// The two files as JSON text.
    public static func files(_ gguf: GGUFFile) throws -> (tokenizer: String, config: String) {
        let meta = try GGUFLlama.tokenizerMetadata(gguf)
        let file = gguf.url.path
        guard meta.model == "gpt2", let merges = meta.merges else {
            throw WeightFileError(file: file, "tokenizer.ggml.model \"\(meta.model)\" (not byte-level BPE) cannot be rebuilt yet; set tokenizer.name_or_path to the model's HF tokenizer folder")
        }
        var vocab = OrderedDictionary<String, Value>()
        for (i, t) in meta.tokens.enumerated() { vocab[t] = .int(i) }
        let types = meta.tokenTypes ?? []
        var added: [Value] = []
        for (i, t) in meta.tokens.enumerated() where i < types.count && (types[i] == 3 || types[i] == 4) {
            added.append(["id": .int(i), "content": .string(t), "single_word": false, "lstrip": false, "rstrip": false,
                          "normalized": false, "special": true])
        }
        let model: Value = ["type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": nil, "end_of_word_suffix": nil,
                            "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                            "vocab": .object(vocab), "merges": .array(merges.map { .string($0) })]
        var post: Value = ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false]
        if meta.addBOS == true, let bos = meta.bosTokenID, bos < meta.tokens.count {
            let b = meta.tokens[bos]
            post = ["type": "TemplateProcessing",
                    "single": [["SpecialToken": ["id": .string(b), "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]]],
                    "pair": [["SpecialToken": ["id": .string(b), "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
                             ["SpecialToken": ["id": .string(b), "type_id": 1]], ["Sequence": ["id": "B", "type_id": 1]]],
                    "special_tokens": .object([b: ["id": .string(b), "ids": [.int(bos)], "tokens": [.string(b)]]])]
        }
        let tokenizer: Value = ["version": "1.0", "truncation": nil, "padding": nil, "added_tokens": .array(added), "normalizer": nil,
                                "pre_tokenizer": try preTokenizer(meta.preTokenizer ?? "default", file: file), "post_processor": post,
                                "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
                                "model": model]
        var config = OrderedDictionary<String, Value>()
        func token(_ id: Int?) -> Value? { id.flatMap { $0 >= 0 && $0 < meta.tokens.count ? .string(meta.tokens[$0]) : nil } }
        config["bos_token"] = token(meta.bosTokenID)
        config["eos_token"] = token(meta.eosTokenID)
        config["pad_token"] = token(meta.paddingTokenID)
        config["unk_token"] = token(meta.unknownTokenID)
        config["add_bos_token"] = .bool(meta.addBOS ?? false)
        config["model_max_length"] = .int(gguf.int("llama.context_length") ?? 2048)
        if let t = meta.chatTemplate { config["chat_template"] = .string(t) }
        return (JSON.serialize(tokenizer) + "\n", JSON.serialize(.object(config), pretty: true) + "\n")
    }

    /// The folder `<file>.tokenizer/` beside the GGUF, written once (atomically) and reused.
    public static func folder(for ggufURL: URL) throws -> URL {
        let dir = URL(fileURLWithPath: ggufURL.path + ".tokenizer")
        let tok = dir.appendingPathComponent("tokenizer.json"), cfg = dir.appendingPathComponent("tokenizer_config.json")
        if FileManager.default.fileExists(atPath: tok.path), FileManager.default.fileExists(atPath: cfg.path) { return dir }
        let (t, c) = try files(try GGUFFile(url: ggufURL))
        try AtomicFile.write(c, to: cfg.path)
        try AtomicFile.write(t, to: tok.path)
        return dir
    }
}
