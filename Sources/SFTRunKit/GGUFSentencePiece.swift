import Foundation
import OrderedCollections
import Values
import WeightFiles

/// SentencePiece BPE vocabularies (`tokenizer.ggml.model` "llama") rebuilt as transformers' GGUF converter
/// builds them (integrations/gguf: `sentencepiece_tokenizer` → `LlamaTokenizer`): a BPE model with byte fallback
/// (`<0xNN>` tokens) and fused unknowns, merges derived from the vocabulary scores, Metaspace ▁ prepended to the
/// first word only, and a decoder that turns ▁ back into spaces and drops the first one.
extension GGUFTokenizer {
    static func sentencePiece(_ meta: GGUFLlama.TokenizerMetadata, file: String) throws -> Value {
        guard let scores = meta.scores, scores.count == meta.tokens.count else {
            throw WeightFileError(file: file, "tokenizer.ggml.scores is missing or not one per token (\(meta.scores?.count ?? 0) for \(meta.tokens.count) tokens); the merges of a SentencePiece vocabulary come from them, convert the file again")
        }
        // Swift strings compare canonically equivalent spellings equal, so of Llama's six Greek pairs such as
        // U+03AC/U+1F71 only the first (common) spelling can be a key; it keeps its own id.
        var vocab = OrderedDictionary<String, Value>()
        for (i, t) in meta.tokens.enumerated() where vocab[t] == nil { vocab[t] = .int(i) }
        let merges = meta.merges.map { $0.map { Value.string($0) } }
            ?? mergesFromScores(tokens: meta.tokens, scores: scores).map { [.string($0.0), .string($0.1)] }
        let model: Value = ["type": "BPE", "dropout": nil, "unk_token": nil, "continuing_subword_prefix": nil, "end_of_word_suffix": nil,
                            "fuse_unk": true, "byte_fallback": true, "ignore_merges": false,
                            "vocab": .object(vocab), "merges": .array(merges)]
        return ["version": "1.0", "truncation": nil, "padding": nil, "added_tokens": .array(addedTokens(meta, sentencePiece: true)),
                "normalizer": nil,
                "pre_tokenizer": ["type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": false],
                "post_processor": postProcessor(meta, addBOS: meta.addBOS ?? true) ?? nil,
                "decoder": ["type": "Sequence", "decoders": [
                    ["type": "Replace", "pattern": ["String": "▁"], "content": " "],
                    ["type": "ByteFallback"], ["type": "Fuse"],
                    ["type": "Strip", "content": " ", "start": 1, "stop": 0]]],
                "model": model]
    }

    /// transformers' `generate_merges(vocab, scores)`: every split of a token into two vocabulary tokens is a merge
    /// carrying that token's score; within a token the splits go by the ids of their pieces, and overall by
    /// score (best first), then the longer left piece, then the longer right piece (lengths in code points), ties
    /// in vocabulary order. A token spelled twice keeps its last id and score and its first place, as a Python
    /// dict does.
    static func mergesFromScores(tokens: [String], scores: [Double]) -> [(String, String)] {
        var id: [[UInt8]: Int] = [:], score: [[UInt8]: Double] = [:], order: [[Unicode.Scalar]] = []
        for (i, t) in tokens.enumerated() {
            let key = Array(t.utf8)
            if id[key] == nil { order.append(Array(t.unicodeScalars)) }
            id[key] = i
            score[key] = scores[i]
        }
        struct Merge { var left: [Unicode.Scalar], right: [Unicode.Scalar], score: Double, place: Int }
        func bytes(_ s: ArraySlice<Unicode.Scalar>) -> [UInt8] { Array(String(String.UnicodeScalarView(s)).utf8) }
        var all: [Merge] = []
        for token in order where token.count > 1 {
            let s = score[bytes(token[...])] ?? 0
            var local: [(Merge, Int, Int)] = []
            for cut in 1..<token.count {
                let l = token[..<cut], r = token[cut...]
                guard let il = id[bytes(l)], let ir = id[bytes(r)] else { continue }
                local.append((Merge(left: Array(l), right: Array(r), score: s, place: 0), il, ir))
            }
            local.sort { ($0.1, $0.2) < ($1.1, $1.2) }
            for (m, _, _) in local {
                var m = m
                m.place = all.count
                all.append(m)
            }
        }
        all.sort {
            if $0.score != $1.score { return $0.score > $1.score }
            if $0.left.count != $1.left.count { return $0.left.count > $1.left.count }
            if $0.right.count != $1.right.count { return $0.right.count > $1.right.count }
            return $0.place < $1.place
        }
        return all.map { (String(String.UnicodeScalarView($0.left)), String(String.UnicodeScalarView($0.right))) }
    }
}
