import Foundation
import Values

/// A Hugging Face fast tokenizer (tokenizer.json) re-implemented natively: added tokens, normalizer,
/// pre-tokenizer, BPE model, post-processor and decoder, matching the `tokenizers` library's ids.
public final class Tokenizer: @unchecked Sendable {
    let json: Value
    let config: Value?
    let addedVocabulary: AddedVocabulary
    var addedByContent: [[UInt8]: AddedToken] { addedVocabulary.byContent }
    var addedById: [Int: AddedToken] { addedVocabulary.byId }
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let model: TokenModel
    let decoder: TokenDecoder?
    let post: PostProcessor

    /// Loads `tokenizer.json` and, when present, `tokenizer_config.json` from a model folder.
    public static func load(directory: URL) throws -> Tokenizer {
        let fm = FileManager.default
        let tj = directory.appendingPathComponent("tokenizer.json")
        let cj = directory.appendingPathComponent("tokenizer_config.json"), sj = directory.appendingPathComponent("special_tokens_map.json")
        var config: Value? = fm.fileExists(atPath: cj.path) ? try parseFile(cj) : nil
        if fm.fileExists(atPath: sj.path) { config = mergingSpecialTokensMap(try parseFile(sj), into: config) }
        if fm.fileExists(atPath: tj.path) { return try Tokenizer(tokenizerJSON: try parseFile(tj), config: config) }
        let vj = directory.appendingPathComponent("vocab.json"), mt = directory.appendingPathComponent("merges.txt")
        guard fm.fileExists(atPath: vj.path), fm.fileExists(atPath: mt.path) else {
            throw TokenizerError("\(tj.path) not found (nor a slow GPT-2 vocab.json + merges.txt); the model folder needs a fast tokenizer — save it with tokenizer.save_pretrained()")
        }
        return try Tokenizer(tokenizerJSON: try slowGPT2(vocab: parseFile(vj), merges: mt, config: config), config: config)
    }

    private static func parseFile(_ url: URL) throws -> Value {
        guard let d = FileManager.default.contents(atPath: url.path) else { throw TokenizerError("\(url.path) cannot be read; check its permissions") }
        do { return try JSON.parse(bytes: [UInt8](d)) } catch {
            throw TokenizerError("\(url.path) is not valid JSON (\(error)); re-save the tokenizer with save_pretrained()")
        }
    }

    /// Builds a tokenizer from parsed tokenizer.json (and tokenizer_config.json, which supplies special-token names,
    /// the chat template and extra added tokens); throws `TokenizerError` naming the unsupported or malformed part.
    public init(tokenizerJSON: Value, config: Value?) throws {
        guard tokenizerJSON.objectValue != nil else { throw TokenizerError("tokenizer.json: top level must be an object; fix the file") }
        json = tokenizerJSON; self.config = config
        guard let m = tokenizerJSON["model"], m.objectValue != nil else { throw TokenizerError("tokenizer.json: \"model\" is missing; fix the file") }
        model = try makeTokenModel(m)
        var added: [AddedToken] = []
        for (i, t) in (tokenizerJSON["added_tokens"]?.arrayValue ?? []).enumerated() {
            guard let id = t["id"]?.intValue, let c = t["content"]?.stringValue else { throw TokenizerError("tokenizer.json: added_tokens[\(i)] needs id and content; fix the file") }
            added.append(AddedToken(id: id, content: c, special: t["special"]?.boolValue ?? false, normalized: t["normalized"]?.boolValue ?? false,
                                    lstrip: t["lstrip"]?.boolValue ?? false, rstrip: t["rstrip"]?.boolValue ?? false, singleWord: t["single_word"]?.boolValue ?? false))
        }
        // tokenizer_config.json's added_tokens_decoder adds tokens missing from tokenizer.json, as transformers does.
        let known = Set(added.map(\.id))
        for (k, t) in config?["added_tokens_decoder"]?.objectValue ?? [:] {
            guard let id = Int(k), !known.contains(id), let c = t["content"]?.stringValue else { continue }
            added.append(AddedToken(id: id, content: c, special: t["special"]?.boolValue ?? false, normalized: t["normalized"]?.boolValue ?? false,
                                    lstrip: t["lstrip"]?.boolValue ?? false, rstrip: t["rstrip"]?.boolValue ?? false, singleWord: t["single_word"]?.boolValue ?? false))
        }
        func opt<T>(_ key: String, _ f: (Value) throws -> T) throws -> T? {
            guard let v = tokenizerJSON[key], !v.isNull else { return nil }
            return try f(v)
        }
        normalizer = try opt("normalizer", Normalizer.init)
        addedVocabulary = AddedVocabulary(added, normalizer: normalizer)
        preTokenizer = try opt("pre_tokenizer", PreTokenizer.init)
        decoder = try opt("decoder", TokenDecoder.init)
        post = try opt("post_processor", PostProcessor.init) ?? PostProcessor()
    }

    /// HF's ByteLevel `process_offsets`: offsets of tokens starting/ending with (byte-level) spaces leave the spaces out.
    private func trim(_ enc: inout Encoding, _ bytes: [UInt8]) {
        let space: Unicode.Scalar = ByteLevelTable.byteToChar[32]
        func isSp(_ c: Unicode.Scalar) -> Bool { c == space || c.properties.isWhitespace }
        for i in enc.ids.indices {
            guard !enc.specialTokensMask[i], let tok = idToToken(enc.ids[i]) else { continue }
            let sc = Array(tok.unicodeScalars)
            var lead = sc.prefix(while: isSp).count
            let trail = sc.reversed().prefix(while: isSp).count
            var o = enc.offsets[i]
            if lead > 0 {
                if (i == 0 || o.lowerBound == 0) && post.trimAddPrefixSpace && lead == 1 { lead = 0 }
                var lo = o.lowerBound
                for _ in 0..<lead where lo < o.upperBound { lo += 1; while lo < bytes.count && (bytes[lo] & 0xC0) == 0x80 { lo += 1 } }
                o = min(lo, o.upperBound)..<o.upperBound
            }
            if trail > 0 {
                // HF counts characters; step back over whole UTF-8 characters.
                var hi = o.upperBound
                for _ in 0..<trail where hi > o.lowerBound { hi -= 1; while hi > 0 && (bytes[hi] & 0xC0) == 0x80 { hi -= 1 } }
                o = o.lowerBound..<max(hi, o.lowerBound)
            }
            enc.offsets[i] = o
        }
    }

    private func configToken(_ key: String) -> String? {
        guard let v = config?[key] else { return nil }
        return v.stringValue ?? v["content"]?.stringValue
    }

    /// Special-token strings from tokenizer_config.json (a string or an AddedToken object), and their ids.
    public var bosToken: String? { configToken("bos_token") }
    public var eosToken: String? { configToken("eos_token") }
    public var padToken: String? { configToken("pad_token") }
    public var unkToken: String? { configToken("unk_token") ?? model.unk }
    public var bosTokenId: Int? { bosToken.flatMap(tokenToId) }
    public var eosTokenId: Int? { eosToken.flatMap(tokenToId) }
    public var padTokenId: Int? { padToken.flatMap(tokenToId) }

    /// The Jinja chat template from tokenizer_config.json: a string, or the "default" entry of a named list.
    public var chatTemplate: String? {
        guard let t = config?["chat_template"] else { return nil }
        if let s = t.stringValue { return s }
        for e in t.arrayValue ?? [] where e["name"]?.stringValue == "default" { return e["template"]?.stringValue }
        return nil
    }

    /// Vocabulary size including added tokens (HF `len(tokenizer)`).
    public var vocabSize: Int {
        let m = max(model.idToToken.keys.max() ?? -1, addedById.keys.max() ?? -1)
        return max(m + 1, Set(model.vocab.values).union(addedById.keys).count)
    }

    /// Id of a token string (added tokens first, then the model vocab), nil when unknown.
    public func tokenToId(_ t: String) -> Int? { let k = Array(t.utf8); return addedByContent[k]?.id ?? model.vocab[k] }
    /// Token string of an id, nil when out of the vocabulary; a normalized added token gives its normalized form,
    /// as tokenizers' `id_to_token` does.
    public func idToToken(_ id: Int) -> String? { addedVocabulary.decodeString(id) ?? model.idToToken[id] }

    /// Returns a tokenizer with `tokens` added as special tokens; tokens not yet known get ids after the
    /// current vocabulary (HF `add_special_tokens`).
    public func addingSpecialTokens(_ tokens: [String]) -> Tokenizer {
        guard var obj = json.objectValue else { return self }
        var list = obj["added_tokens"]?.arrayValue ?? []
        var next = vocabSize
        var known = Set(addedByContent.keys)
        for t in tokens where !known.contains(Array(t.utf8)) && !t.isEmpty {
            let id = model.vocab[Array(t.utf8)] ?? { defer { next += 1 }; return next }()
            list.append(["id": .int(id), "content": .string(t), "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true])
            known.insert(Array(t.utf8))
        }
        obj["added_tokens"] = .array(list)
        return (try? Tokenizer(tokenizerJSON: .object(obj), config: config)) ?? self
    }

    // MARK: encode

    /// Encodes like `tokenizer(text, pair, add_special_tokens=...)`: added tokens, normalizer, pre-tokenizer,
    /// model, then the post-processor (its `pair` template for two texts; special tokens only when
    /// `addSpecialTokens`). Offsets are UTF-8 byte ranges of `text`, or of `pair` for the second sequence's tokens.
    public func encode(_ text: String, pair: String? = nil, addSpecialTokens: Bool = true) -> Encoding {
        post.process(encodeSequence(text), pair.map(encodeSequence), addSpecialTokens: addSpecialTokens)
    }

    private func encodeSequence(_ text: String) -> Encoding {
        let bytes = Array(text.utf8)
        var enc = Encoding()
        /// The original byte range of scalars `sr` of a normalized piece.
        func original(_ w: NString, _ sr: Range<Int>) -> Range<Int> {
            w.align[sr.lowerBound].lowerBound..<max(w.align[sr.lowerBound].lowerBound, w.align[sr.upperBound - 1].upperBound)
        }
        for (r, a, content) in addedVocabulary.splitRaw(bytes) {
            if let a { enc.ids.append(a.id); enc.offsets.append(post.trimOffsets ? content : r); enc.specialTokensMask.append(false); continue }
            var whole = NString(utf8: bytes, r)
            normalizer?.apply(&whole)
            for (sr, a, matched) in addedVocabulary.splitNormalized(whole) where !sr.isEmpty {
                if let a { enc.ids.append(a.id); enc.offsets.append(original(whole, post.trimOffsets ? matched : sr)); enc.specialTokensMask.append(false); continue }
                let ns = sr.count == whole.scalars.count ? whole : whole.slice(sr)
                let words = preTokenizer?.apply([ns]) ?? [ns]
                for w in words where !w.scalars.isEmpty {
                    for (id, tr) in model.tokenize(w) {
                        enc.ids.append(id); enc.offsets.append(original(w, tr)); enc.specialTokensMask.append(false)
                    }
                }
            }
        }
        if post.trimOffsets { trim(&enc, bytes) }
        return enc
    }

    /// Encodes texts in parallel; the result equals encoding each text in order.
    public func encodeBatch(_ texts: [String], addSpecialTokens: Bool = true) -> [Encoding] {
        var results = [Encoding](repeating: Encoding(), count: texts.count)
        results.withUnsafeMutableBufferPointer { buf in
            let base = buf.baseAddress!
            nonisolated(unsafe) let b = base
            DispatchQueue.concurrentPerform(iterations: texts.count) { i in b[i] = encode(texts[i], addSpecialTokens: addSpecialTokens) }
        }
        return results
    }

    /// Decodes like `tokenizer.decode(ids, skip_special_tokens=...)` through the tokenizer.json decoder chain;
    /// unknown ids are skipped.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var tokens: [String] = []
        for id in ids {
            guard let t = idToToken(id) else { continue }
            // tokenizers skips by string: a normalized special token shown in another form is kept.
            if skipSpecialTokens, addedVocabulary.specialContents.contains(t) { continue }
            tokens.append(t)
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }

    /// tokenizer_config.json's `clean_up_tokenization_spaces` (transformers' default when absent: false).
    public var cleansUpTokenizationSpaces: Bool { config?["clean_up_tokenization_spaces"]?.boolValue ?? false }

    /// Decodes as transformers' `tokenizer.decode` does: the decoder chain, then, when tokenizer_config.json asks
    /// for it, `clean_up_tokenization` (spaces before punctuation and English contractions removed).
    public func decodeText(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        let text = decode(ids, skipSpecialTokens: skipSpecialTokens)
        return cleansUpTokenizationSpaces ? Self.cleanUpTokenization(text) : text
    }

    /// transformers' `clean_up_tokenization`, replacement for replacement.
    public static func cleanUpTokenization(_ text: String) -> String {
        var t = text
        for (from, to) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"), (" 'm", "'m"),
                           (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
            t = t.replacingOccurrences(of: from, with: to)
        }
        return t
    }
}
