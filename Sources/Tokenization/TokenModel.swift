import Values

/// What the tokenizer needs from a tokenizer.json `model` (BPE, Unigram or WordPiece): the vocabulary both ways,
/// the unknown token, and the tokens of one pre-tokenized word.
protocol TokenModel: AnyObject, Sendable {
    var vocab: [[UInt8]: Int] { get }
    var idToToken: [Int: String] { get }
    var unk: String? { get }
    /// Tokens of one word as (id, scalar range inside the word).
    func tokenize(_ word: NString) -> [(Int, Range<Int>)]
}

/// Builds the model named by `model.type` (BPE when absent, as tokenizers does).
func makeTokenModel(_ m: Value) throws -> TokenModel {
    let type = m["type"]?.stringValue ?? (m["merges"] != nil ? "BPE" : m["scores"] != nil || m["vocab"]?.arrayValue != nil ? "Unigram" : "BPE")
    switch type {
    case "BPE": return try BPEModel(m)
    case "Unigram": return try UnigramModel(m)
    case "WordPiece": return try WordPieceModel(m)
    default: throw TokenizerError("tokenizer.json: model type \(type) is not supported (supported: BPE, Unigram, WordPiece); use a tokenizer with a supported model")
    }
}

/// Maps UTF-8 byte offsets of a word's text to scalar indices (models that work on bytes report byte ranges).
struct ByteToScalar {
    let utf8: [UInt8]
    let scalarAt: [Int]
    init(_ scalars: [Unicode.Scalar]) {
        var u: [UInt8] = [], m: [Int] = []
        u.reserveCapacity(scalars.count); m.reserveCapacity(scalars.count + 1)
        for (i, s) in scalars.enumerated() {
            UTF8Scalars.append(s, to: &u)
            while m.count < u.count { m.append(i) }
        }
        m.append(scalars.count)
        utf8 = u; scalarAt = m
    }
    func range(_ r: Range<Int>) -> Range<Int> { scalarAt[r.lowerBound]..<scalarAt[r.upperBound] }
}

/// `<0xNN>`, the byte-fallback piece of a byte.
func bytePiece(_ b: UInt8) -> [UInt8] {
    let hex = Array("0123456789ABCDEF".utf8)
    return Array("<0x".utf8) + [hex[Int(b >> 4)], hex[Int(b & 15)], UInt8(ascii: ">")]
}
