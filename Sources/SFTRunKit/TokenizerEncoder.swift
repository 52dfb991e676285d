import Datasets
import Tokenization

/// The data pipeline sees the tokenizer only through `TokenEncoder`, so Datasets does not depend on Tokenization.
extension Tokenizer: TokenEncoder {}
extension Tokenizer {
    public func encodeWithOffsets(_ text: String, addSpecialTokens: Bool) -> (ids: [Int], offsets: [Range<Int>]) {
        let e = encode(text, addSpecialTokens: addSpecialTokens)
        return (e.ids, e.offsets)
    }
}
