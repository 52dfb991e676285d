import Foundation
import OrderedCollections
import Values
import WeightFiles

/// Writes tokenizer.json and tokenizer_config.json for a llama.cpp GGUF model, so a `.gguf` file is a complete
/// model source. Byte-level BPE vocabularies (`tokenizer.ggml.model` "gpt2") with the pre-tokenizers llama.cpp
/// names are rebuilt as the `tokenizers` library would load them; control and user-defined tokens become added
/// special tokens. SentencePiece vocabularies ("llama") are in GGUFSentencePiece.swift.
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

    /// Control and user-defined tokens as added tokens. Byte-level files mark both special (as before); for
    /// SentencePiece files transformers adds control tokens (and the unknown/BOS/EOS tokens it names) as special
    /// and user-defined ones as plain added tokens, all matched whole in the raw text.
    static func addedTokens(_ meta: GGUFLlama.TokenizerMetadata, sentencePiece: Bool) -> [Value] {
        let types = meta.tokenTypes ?? []
        let named = Set([meta.unknownTokenID, meta.bosTokenID, meta.eosTokenID].compactMap { $0 })
        var added: [Value] = []
        for (i, t) in meta.tokens.enumerated() {
            let type = i < types.count ? types[i] : 1
            let special = sentencePiece ? type == 3 || named.contains(i) : type == 3 || type == 4
            guard special || (sentencePiece && type == 4) else { continue }
            added.append(["id": .int(i), "content": .string(t), "single_word": false, "lstrip": false, "rstrip": false,
                          "normalized": false, "special": .bool(special)])
        }
        return added
    }

    /// BOS before (and EOS after, with `tokenizer.ggml.add_eos_token`) each sequence, as transformers'
    /// TemplateProcessing; nil when neither is added.
    static func postProcessor(_ meta: GGUFLlama.TokenizerMetadata, addBOS: Bool) -> Value? {
        func piece(_ id: Int?, _ on: Bool) -> String? { on ? id.flatMap { $0 >= 0 && $0 < meta.tokens.count ? meta.tokens[$0] : nil } : nil }
        let bos = piece(meta.bosTokenID, addBOS), eos = piece(meta.eosTokenID, meta.addEOS ?? false)
        guard bos != nil || eos != nil else { return nil }
        func special(_ t: String, _ type: Int) -> Value { ["SpecialToken": ["id": .string(t), "type_id": .int(type)]] }
        func sequence(_ name: String, _ type: Int) -> [Value] {
            (bos.map { [special($0, type)] } ?? []) + [["Sequence": ["id": .string(name), "type_id": .int(type)]]] + (eos.map { [special($0, type)] } ?? [])
        }
        var specials = OrderedDictionary<String, Value>()
        for (t, id) in [(bos, meta.bosTokenID), (eos, meta.eosTokenID)] {
            if let t, let id { specials[t] = ["id": .string(t), "ids": [.int(id)], "tokens": [.string(t)]] }
        }
        return ["type": "TemplateProcessing", "single": .array(sequence("A", 0)), "pair": .array(sequence("A", 0) + sequence("B", 1)),
                "special_tokens": .object(specials)]
    }

    /// Byte-level BPE with the file's merges and the pre-tokenizer `tokenizer.ggml.pre` names.
    static func byteLevel(_ meta: GGUFLlama.TokenizerMetadata, file: String) throws -> Value {
        guard let merges = meta.merges else {
            throw WeightFileError(file: file, "tokenizer.ggml.merges is missing from a byte-level BPE vocabulary; convert the file again or set tokenizer.name_or_path to the model's HF tokenizer folder")
        }
        var vocab = OrderedDictionary<String, Value>()
        for (i, t) in meta.tokens.enumerated() { vocab[t] = .int(i) }
        let model: Value = ["type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": nil, "end_of_word_suffix": nil,
                            "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
                            "vocab": .object(vocab), "merges": .array(merges.map { .string($0) })]
        let post = postProcessor(meta, addBOS: meta.addBOS ?? false)
            ?? ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": false, "use_regex": false]
        return ["version": "1.0", "truncation": nil, "padding": nil, "added_tokens": .array(addedTokens(meta, sentencePiece: false)),
                "normalizer": nil, "pre_tokenizer": try preTokenizer(meta.preTokenizer ?? "default", file: file), "post_processor": post,
                "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
                "model": model]
    }

    /// The two files as JSON text.
    public static func files(_ gguf: GGUFFile) throws -> (tokenizer: String, config: String) {
        let meta = try GGUFLlama.tokenizerMetadata(gguf)
        let file = gguf.url.path
        let tokenizer: Value
        var addBOS = meta.addBOS ?? false
        switch meta.model {
        case "gpt2": tokenizer = try byteLevel(meta, file: file)
        case "llama":
            // Files without the flag get BOS, as llama.cpp and transformers give a SentencePiece vocabulary.
            addBOS = meta.addBOS ?? true
            tokenizer = try sentencePiece(meta, file: file)
        default:
            throw WeightFileError(file: file, "tokenizer.ggml.model \"\(meta.model)\" is not byte-level BPE (gpt2) or SentencePiece BPE (llama) and cannot be rebuilt yet; set tokenizer.name_or_path to the model's HF tokenizer folder")
        }
        var config = OrderedDictionary<String, Value>()
        func token(_ id: Int?) -> Value? { id.flatMap { $0 >= 0 && $0 < meta.tokens.count ? .string(meta.tokens[$0]) : nil } }
        config["bos_token"] = token(meta.bosTokenID)
        config["eos_token"] = token(meta.eosTokenID)
        config["pad_token"] = token(meta.paddingTokenID)
        config["unk_token"] = token(meta.unknownTokenID)
        config["add_bos_token"] = .bool(addBOS)
        if meta.model == "llama" { config["add_eos_token"] = .bool(meta.addEOS ?? false) }
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
