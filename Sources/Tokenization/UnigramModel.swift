import Foundation
import Values

/// SentencePiece's unigram model as tokenizers' `models/unigram`: the best-scoring segmentation (Viterbi over a
/// byte trie of the pieces), unknown characters scored `min_score - 10` and fused, optional `<0xNN>` byte fallback.
final class UnigramModel: TokenModel, @unchecked Sendable {
    let vocab: [[UInt8]: Int]
    let idToToken: [Int: String]
    let unk: String?
    let unkId: Int?
    let byteFallback: Bool
    private let scores: [Double]
    private let trie: ByteTrie
    private let unkScore: Double
    private var cache: [ByteKey: [(Int, Range<Int>)]] = [:]
    private let lock = NSLock()

    init(_ m: Value) throws {
        guard let list = m["vocab"]?.arrayValue else { throw TokenizerError("tokenizer.json: Unigram model.vocab must be a list of [piece, score]; fix the file") }
        var vocab: [[UInt8]: Int] = [:], inv: [Int: String] = [:], scores: [Double] = []
        var trie = ByteTrie()
        var minScore = Double.infinity
        for (i, e) in list.enumerated() {
            guard let p = e[0]?.stringValue, let s = e[1]?.doubleValue else {
                throw TokenizerError("tokenizer.json: Unigram model.vocab[\(i)] is not [piece, score]; fix the file")
            }
            let b = Array(p.utf8)
            vocab[b] = i; inv[i] = p; scores.append(s)
            trie.insert(b)
            minScore = min(minScore, s)
        }
        if let u = m["unk_id"]?.intValue {
            guard u >= 0, u < list.count else { throw TokenizerError("tokenizer.json: Unigram unk_id \(u) is outside the vocab (\(list.count) pieces); fix the file") }
            unkId = u; unk = inv[u]
        } else { unkId = nil; unk = nil }
        self.vocab = vocab; idToToken = inv; self.scores = scores; self.trie = trie
        unkScore = minScore - 10
        byteFallback = m["byte_fallback"]?.boolValue ?? false
    }

    func tokenize(_ word: NString) -> [(Int, Range<Int>)] {
        let key = word.utf8
        let ck = ByteKey(key)
        lock.lock(); let hit = cache[ck]; lock.unlock()
        if let hit { return hit }
        let map = ByteToScalar(word.scalars)
        var out: [(Int, Range<Int>)] = []
        for piece in segment(key) {
            let sr = map.range(piece)
            if let id = vocab[Array(key[piece])] { out.append((id, sr)); continue }
            if byteFallback {
                let ids = key[piece].compactMap { vocab[bytePiece($0)] }
                if ids.count == piece.count { for id in ids { out.append((id, sr)) }; continue }
            }
            if let u = unkId { out.append((u, sr)) }
        }
        lock.lock(); if cache.count < 100_000 { cache[ck] = out }; lock.unlock()
        return out
    }

    /// Byte ranges of the best path (tokenizers' `encode_optimized`): ties keep the first, shorter candidate;
    /// consecutive unknown characters become one piece.
    private func segment(_ s: [UInt8]) -> [Range<Int>] {
        let n = s.count
        guard n > 0 else { return [] }
        var best = [Double](repeating: 0, count: n + 1), from = [Int](repeating: -1, count: n + 1), ids = [Int](repeating: -1, count: n + 1)
        var start = 0
        while start < n {
            let here = best[start]
            let mblen = utf8Length(s[start])
            var single = false
            trie.prefixes(of: s, from: start) { end in
                guard let id = vocab[Array(s[start..<end])] else { return }
                let c = scores[id] + here
                if from[end] < 0 || c > best[end] { best[end] = c; from[end] = start; ids[end] = id }
                if end - start == mblen { single = true }
            }
            if !single {
                let end = min(start + mblen, n)
                let c = unkScore + here
                if from[end] < 0 || c > best[end] { best[end] = c; from[end] = start; ids[end] = unkId ?? -1 }
            }
            start += mblen
        }
        var out: [Range<Int>] = []
        var end = n, unkEnd = -1
        while end > 0 {
            let st = from[end]
            guard st >= 0 else { break }
            if let u = unkId, ids[end] == u { if unkEnd < 0 { unkEnd = end } }
            else {
                if unkEnd >= 0 { out.append(end..<unkEnd); unkEnd = -1 }
                out.append(st..<end)
            }
            end = st
        }
        if unkEnd >= 0 { out.append(end..<unkEnd) }
        return out.reversed()
    }

    private func utf8Length(_ b: UInt8) -> Int { b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4 }
}

/// A byte trie answering "which pieces start at this position", shortest first.
struct ByteTrie {
    private var children: [[UInt8: Int32]] = [[:]]
    private var terminal: [Bool] = [false]

    mutating func insert(_ key: [UInt8]) {
        var node = 0
        for b in key {
            if let c = children[node][b] { node = Int(c); continue }
            children.append([:]); terminal.append(false)
            children[node][b] = Int32(children.count - 1); node = children.count - 1
        }
        terminal[node] = true
    }

    /// Calls `found(end)` for every piece `s[from..<end]`, in increasing `end`.
    func prefixes(of s: [UInt8], from: Int, _ found: (Int) -> Void) {
        var node = 0, i = from
        while i < s.count, let c = children[node][s[i]] {
            node = Int(c); i += 1
            if terminal[node] { found(i) }
        }
    }
}
