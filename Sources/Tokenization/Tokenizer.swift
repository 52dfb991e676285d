import Foundation
import Values

/// A Hugging Face fast tokenizer (tokenizer.json) re-implemented natively: added tokens, normalizer,
/// pre-tokenizer, BPE model, post-processor and decoder, matching the `tokenizers` library's ids.
public final class Tokenizer: @unchecked Sendable {
    let json: Value
    let config: Value?
    let added: [AddedToken]
    let addedByContent: [[UInt8]: AddedToken]
    let addedById: [Int: AddedToken]
    /// Added tokens (with their UTF-8) by first byte, longest first: the scan tests only these at each byte.
    let addedFirstByte: [[(AddedToken, [UInt8])]]
    /// Whether any added token starts with this byte: most bytes start none, and this test touches no array.
    let addedStarts: [Bool]
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let model: TokenModel
    let decoder: TokenDecoder?
    let post: PostProcessor

    /// Loads `tokenizer.json` and, when present, `tokenizer_config.json` from a model folder.
    public static func load(directory: URL) throws -> Tokenizer {
        let fm = FileManager.default
        let tj = directory.appendingPathComponent("tokenizer.json")
        let cj = directory.appendingPathComponent("tokenizer_config.json")
        let config = fm.fileExists(atPath: cj.path) ? try parseFile(cj) : nil
        if fm.fileExists(atPath: tj.path) { return try Tokenizer(tokenizerJSON: try parseFile(tj), config: config) }
        let vj = directory.appendingPathComponent("vocab.json"), mt = directory.appendingPathComponent("merges.txt")
        guard fm.fileExists(atPath: vj.path), fm.fileExists(atPath: mt.path) else {
            throw TokenizerError("\(tj.path) not found (nor a slow GPT-2 vocab.json + merges.txt); the model folder needs a fast tokenizer — save it with tokenizer.save_pretrained()")
        }
        return try Tokenizer(tokenizerJSON: try slowGPT2(vocab: parseFile(vj), merges: mt), config: config)
    }

    /// The tokenizer.json that `GPT2TokenizerFast` would convert a slow vocab.json + merges.txt into.
    private static func slowGPT2(vocab: Value, merges url: URL) throws -> Value {
        guard let d = FileManager.default.contents(atPath: url.path) else { throw TokenizerError("\(url.path) cannot be read; check its permissions") }
        var merges: [Value] = []
        for line in String(decoding: d, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: true) {
            let l = line.hasSuffix("\r") ? line.dropLast() : line
            if l.hasPrefix("#version") || l.isEmpty { continue }
            merges.append(.string(String(l)))
        }
        return ["model": ["type": "BPE", "vocab": vocab, "merges": .array(merges)],
                "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true],
                "decoder": ["type": "ByteLevel"], "added_tokens": []]
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
        self.added = added
        var byC: [[UInt8]: AddedToken] = [:], byI: [Int: AddedToken] = [:], fb = [[(AddedToken, [UInt8])]](repeating: [], count: 256)
        for a in added {
            let u = Array(a.content.utf8)
            guard let first = u.first else { continue }
            byC[u] = a; byI[a.id] = a; fb[Int(first)].append((a, u))
        }
        addedByContent = byC; addedById = byI; addedFirstByte = fb.map { $0.sorted { $0.1.count > $1.1.count } }
        addedStarts = fb.map { !$0.isEmpty }
        func opt<T>(_ key: String, _ f: (Value) throws -> T) throws -> T? {
            guard let v = tokenizerJSON[key], !v.isNull else { return nil }
            return try f(v)
        }
        normalizer = try opt("normalizer", Normalizer.init)
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
    /// Token string of an id, nil when out of the vocabulary.
    public func idToToken(_ id: Int) -> String? { addedById[id]?.content ?? model.idToToken[id] }

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

    /// Splits raw text into (byte range, added token or nil), leftmost-longest as HF's added vocabulary does.
    private func splitAdded(_ bytes: [UInt8]) -> [(Range<Int>, AddedToken?, Range<Int>)] {
        var out: [(Range<Int>, AddedToken?, Range<Int>)] = []
        var i = 0, segStart = 0
        let n = bytes.count
        func isWS(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0B || b == 0x0C }
        func scalarBefore(_ p: Int) -> Unicode.Scalar? {
            guard p > 0 else { return nil }
            var q = p - 1
            while q > 0 && (bytes[q] & 0xC0) == 0x80 { q -= 1 }
            return String(decoding: bytes[q..<p], as: UTF8.self).unicodeScalars.first
        }
        func scalarAt(_ p: Int) -> Unicode.Scalar? {
            guard p < n else { return nil }
            var q = p + 1
            while q < n && (bytes[q] & 0xC0) == 0x80 { q += 1 }
            return String(decoding: bytes[p..<q], as: UTF8.self).unicodeScalars.first
        }
        while i < n {
            var matched: AddedToken? = nil
            if addedStarts[Int(bytes[i])] {
                for (c, u) in addedFirstByte[Int(bytes[i])] {
                    if i + u.count <= n && bytes[i..<i + u.count].elementsEqual(u) {
                        if c.singleWord {
                            if let b = scalarBefore(i), isRustWordChar(b) { continue }
                            if let a = scalarAt(i + u.count), isRustWordChar(a) { continue }
                        }
                        matched = c; break
                    }
                }
            }
            guard let m = matched else { i += 1; while i < n && (bytes[i] & 0xC0) == 0x80 { i += 1 }; continue }
            var lo = i, hi = i + m.content.utf8.count
            if m.lstrip { while lo > segStart && isWS(bytes[lo - 1]) { lo -= 1 } }
            if m.rstrip { while hi < n && isWS(bytes[hi]) { hi += 1 } }
            if lo > segStart { out.append((segStart..<lo, nil, segStart..<lo)) }
            out.append((lo..<hi, m, i..<i + m.content.utf8.count))
            i = hi; segStart = hi
        }
        if segStart < n { out.append((segStart..<n, nil, segStart..<n)) }
        return out
    }

    /// Encodes like `tokenizer(text, pair, add_special_tokens=...)`: added tokens, normalizer, pre-tokenizer,
    /// model, then the post-processor (its `pair` template for two texts; special tokens only when
    /// `addSpecialTokens`). Offsets are UTF-8 byte ranges of `text`, or of `pair` for the second sequence's tokens.
    public func encode(_ text: String, pair: String? = nil, addSpecialTokens: Bool = true) -> Encoding {
        post.process(encodeSequence(text), pair.map(encodeSequence), addSpecialTokens: addSpecialTokens)
    }

    private func encodeSequence(_ text: String) -> Encoding {
        let bytes = Array(text.utf8)
        var enc = Encoding()
        for (r, a, content) in splitAdded(bytes) {
            if let a { enc.ids.append(a.id); enc.offsets.append(post.trimOffsets ? content : r); enc.specialTokensMask.append(false); continue }
            var ns = NString(utf8: bytes, r)
            normalizer?.apply(&ns)
            let words = preTokenizer?.apply([ns]) ?? [ns]
            for w in words where !w.scalars.isEmpty {
                for (id, sr) in model.tokenize(w) {
                    enc.ids.append(id)
                    enc.offsets.append(w.align[sr.lowerBound].lowerBound..<max(w.align[sr.lowerBound].lowerBound, w.align[sr.upperBound - 1].upperBound))
                    enc.specialTokensMask.append(false)
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
            if skipSpecialTokens, addedById[id]?.special == true { continue }
            if let t = idToToken(id) { tokens.append(t) }
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }
}
