/// An entry of tokenizer.json's `added_tokens`: matched in raw text before normalization and pre-tokenization.
struct AddedToken {
    var id: Int
    var content: String
    var special: Bool
    var normalized: Bool
    var lstrip: Bool
    var rstrip: Bool
    var singleWord: Bool
}
