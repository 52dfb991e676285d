/// An entry of tokenizer.json's `added_tokens`: cut out before pre-tokenization, in the raw text or, when
/// `normalized`, in the normalized text (see `AddedVocabulary`).
struct AddedToken {
    var id: Int
    var content: String
    var special: Bool
    var normalized: Bool
    var lstrip: Bool
    var rstrip: Bool
    var singleWord: Bool
}
