import Foundation
import Values

/// The BPE model of tokenizer.json: vocab, merge ranks, byte fallback and the unknown token.
final class BPEModel: TokenModel, @unchecked Sendable {
    let vocab: [[UInt8]: Int]
    let idToToken: [Int: String]
    let merges: [Int64: (rank: Int, id: Int)]
    let unk: String?
    let fuseUnk: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    let prefix: String
    let suffix: String
    /// Ids of the one-scalar tokens: the starting symbols of every word, looked up without building a String.
    private let singleScalar: [Unicode.Scalar: Int]
    private var cache: [ByteKey: [(Int, Range<Int>)]] = [:]
    private let lock = NSLock()

    init(_ m: Value) throws {
        guard let v = m["vocab"]?.objectValue else { throw TokenizerError("tokenizer.json: model.vocab is missing or not an object; fix the file") }
        var vocab: [[UInt8]: Int] = [:]
        var inv: [Int: String] = [:]
        for (k, x) in v { guard let i = x.intValue else { throw TokenizerError("tokenizer.json: model.vocab[\(k)] is not an integer id; fix the file") }; vocab[Array(k.utf8)] = i; inv[i] = k }
        self.vocab = vocab; idToToken = inv
        var single: [Unicode.Scalar: Int] = [:]
        for (k, x) in v { if let f = k.unicodeScalars.first, k.unicodeScalars.count == 1, let id = x.intValue { single[f] = id } }
        singleScalar = single
        var merges: [Int64: (Int, Int)] = [:]
        prefix = m["continuing_subword_prefix"]?.stringValue ?? ""
        suffix = m["end_of_word_suffix"]?.stringValue ?? ""
        for (rank, e) in (m["merges"]?.arrayValue ?? []).enumerated() {
            let a: String, b: String
            if let s = e.stringValue {
                let parts = s.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw TokenizerError("tokenizer.json: merge #\(rank) \"\(s)\" is not \"a b\"; fix the file") }
                a = String(parts[0]); b = String(parts[1])
            } else if let p = e.arrayValue, p.count == 2, let x = p[0].stringValue, let y = p[1].stringValue { a = x; b = y }
            else { throw TokenizerError("tokenizer.json: merge #\(rank) is neither \"a b\" nor [a, b]; fix the file") }
            guard let ia = vocab[Array(a.utf8)], let ib = vocab[Array(b.utf8)] else { throw TokenizerError("tokenizer.json: merge #\(rank) (\(a) \(b)) uses a token missing from the vocab; fix the file") }
            let merged = prefix.isEmpty ? a + b : a + (b.scalarDroppingPrefix(prefix) ?? b)
            guard let im = vocab[Array(merged.utf8)] else { throw TokenizerError("tokenizer.json: merge #\(rank) makes \(merged), which is missing from the vocab; fix the file") }
            let key = Int64(ia) << 32 | Int64(ib)
            if merges[key] == nil { merges[key] = (rank, im) }
        }
        self.merges = merges.mapValues { (rank: $0.0, id: $0.1) }
        unk = m["unk_token"]?.stringValue
        fuseUnk = m["fuse_unk"]?.boolValue ?? false
        byteFallback = m["byte_fallback"]?.boolValue ?? false
        ignoreMerges = m["ignore_merges"]?.boolValue ?? false
    }

    /// Tokens of one pre-tokenized word as (id, scalar range inside the word).
    func tokenize(_ word: NString) -> [(Int, Range<Int>)] {
        // One-character words (spaces, punctuation, digits split one by one) skip the cache and its lock.
        if word.scalars.count == 1, prefix.isEmpty, suffix.isEmpty, let id = singleScalar[word.scalars[0]] { return [(id, 0..<1)] }
        let key = word.utf8
        let ck = ByteKey(key)
        lock.lock(); let hit = cache[ck]; lock.unlock()
        if let hit { return hit }
        let r = compute(word.scalars, key)
        lock.lock(); if cache.count < 100_000 { cache[ck] = r }; lock.unlock()
        return r
    }

    private func compute(_ sc: [Unicode.Scalar], _ utf8: [UInt8]) -> [(Int, Range<Int>)] {
        if ignoreMerges, let id = vocab[utf8] { return [(id, 0..<sc.count)] }
        var syms: [(id: Int, r: Range<Int>)] = []
        var unkPending: Range<Int>? = nil
        let unkId = unk.flatMap { vocab[Array($0.utf8)] }
        func flushUnk() { if let u = unkPending, let uid = unkId { syms.append((uid, u)) }; unkPending = nil }
        for (i, c) in sc.enumerated() {
            if prefix.isEmpty && suffix.isEmpty, let id = singleScalar[c] { flushUnk(); syms.append((id, i..<i + 1)); continue }
            var s = String(c)
            if i > 0 { s = prefix + s }
            if i == sc.count - 1 { s += suffix }
            if let id = vocab[Array(s.utf8)] { flushUnk(); syms.append((id, i..<i + 1)); continue }
            if byteFallback {
                let ids = String(c).utf8.map { vocab[Array(String(format: "<0x%02X>", $0).utf8)] }
                if ids.allSatisfy({ $0 != nil }) { flushUnk(); for id in ids { syms.append((id!, i..<i + 1)) }; continue }
            }
            if unkId != nil {
                if fuseUnk, let u = unkPending { unkPending = u.lowerBound..<i + 1 } else { flushUnk(); unkPending = i..<i + 1 }
            }
        }
        flushUnk()
        return mergeAll(syms)
    }

    /// Applies merges lowest rank first (leftmost on ties) with a heap over a linked list, O(n log n)
    /// like HF's `Word::merge_all`, so long words (runs of spaces, minified text) stay fast.
    private func mergeAll(_ syms0: [(id: Int, r: Range<Int>)]) -> [(Int, Range<Int>)] {
        var ids = syms0.map(\.id), lo = syms0.map(\.r.lowerBound), hi = syms0.map(\.r.upperBound)
        let n = ids.count
        guard n > 1 else { return syms0.map { ($0.id, $0.r) } }
        var next = Array(1...n), prev = Array(-1..<n - 1)
        var alive = [Bool](repeating: true, count: n)
        // Heap entries: (rank, left position, left id, right id, new id).
        var heap: [(Int, Int, Int, Int, Int)] = []
        func less(_ a: (Int, Int, Int, Int, Int), _ b: (Int, Int, Int, Int, Int)) -> Bool { a.0 != b.0 ? a.0 < b.0 : a.1 < b.1 }
        func push(_ e: (Int, Int, Int, Int, Int)) {
            heap.append(e); var i = heap.count - 1
            while i > 0 { let p = (i - 1) / 2; if less(heap[i], heap[p]) { heap.swapAt(i, p); i = p } else { break } }
        }
        func pop() -> (Int, Int, Int, Int, Int) {
            let top = heap[0]; let last = heap.removeLast()
            if !heap.isEmpty {
                heap[0] = last; var i = 0
                while true {
                    let l = 2 * i + 1, r = l + 1; var m = i
                    if l < heap.count && less(heap[l], heap[m]) { m = l }
                    if r < heap.count && less(heap[r], heap[m]) { m = r }
                    if m == i { break }; heap.swapAt(i, m); i = m
                }
            }
            return top
        }
        func consider(_ i: Int) {
            let j = next[i]
            guard i >= 0, j < n, let m = merges[Int64(ids[i]) << 32 | Int64(ids[j])] else { return }
            push((m.rank, i, ids[i], ids[j], m.id))
        }
        for i in 0..<n - 1 { consider(i) }
        while !heap.isEmpty {
            let (_, i, a, b, newId) = pop()
            guard alive[i], ids[i] == a, next[i] < n, alive[next[i]], ids[next[i]] == b else { continue }
            let j = next[i]
            ids[i] = newId; hi[i] = hi[j]; alive[j] = false
            next[i] = next[j]; if next[j] < n { prev[next[j]] = i }
            if prev[i] >= 0 { consider(prev[i]) }
            consider(i)
        }
        var out: [(Int, Range<Int>)] = []
        var i = 0
        while i < n { out.append((ids[i], lo[i]..<hi[i])); i = next[i] }
        return out
    }

}
