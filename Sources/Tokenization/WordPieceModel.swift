import Foundation
import Values

/// BERT's WordPiece as tokenizers' `models/wordpiece`: greedy longest match from the left, pieces after the first
/// carry `continuing_subword_prefix`; a word with an unmatchable rest, or longer than `max_input_chars_per_word`
/// characters, becomes one unknown token.
final class WordPieceModel: TokenModel, @unchecked Sendable {
    let vocab: [[UInt8]: Int]
    let idToToken: [Int: String]
    let unk: String?
    let prefix: [UInt8]
    let maxChars: Int

    init(_ m: Value) throws {
        guard let v = m["vocab"]?.objectValue else { throw TokenizerError("tokenizer.json: WordPiece model.vocab is missing or not an object; fix the file") }
        var vocab: [[UInt8]: Int] = [:], inv: [Int: String] = [:]
        for (k, x) in v {
            guard let i = x.intValue else { throw TokenizerError("tokenizer.json: model.vocab[\(k)] is not an integer id; fix the file") }
            vocab[Array(k.utf8)] = i; inv[i] = k
        }
        self.vocab = vocab; idToToken = inv
        unk = m["unk_token"]?.stringValue ?? "[UNK]"
        prefix = Array((m["continuing_subword_prefix"]?.stringValue ?? "##").utf8)
        maxChars = m["max_input_chars_per_word"]?.intValue ?? 100
    }

    func tokenize(_ word: NString) -> [(Int, Range<Int>)] {
        let all = 0..<word.scalars.count
        let unkToken = unk.flatMap { vocab[Array($0.utf8)] }.map { [($0, all)] } ?? []
        if word.scalars.count > maxChars { return unkToken }
        let map = ByteToScalar(word.scalars)
        let s = map.utf8
        var out: [(Int, Range<Int>)] = []
        var start = 0
        while start < s.count {
            var end = s.count
            var found: Int? = nil
            while start < end {
                let piece = start > 0 ? prefix + s[start..<end] : Array(s[start..<end])
                if let id = vocab[piece] { found = id; break }
                // Step back one whole character.
                end -= 1
                while end > start && (s[end] & 0xC0) == 0x80 { end -= 1 }
            }
            guard let id = found else { return unkToken }
            out.append((id, map.range(start..<end)))
            start = end
        }
        return out
    }
}
