/// The result of encoding one text (or a pair): token ids, the UTF-8 byte range each token covers in the ORIGINAL
/// text of its own sequence (pair tokens: in the second text, as `tokenizers` reports them; empty ranges for
/// tokens the post-processor added), which tokens are special, and type ids (segment A 0, B 1 for BERT).
public struct Encoding: Sendable, Equatable {
    public var ids: [Int]
    public var offsets: [Range<Int>]
    public var specialTokensMask: [Bool]
    public var typeIds: [Int]
    public init(ids: [Int] = [], offsets: [Range<Int>] = [], specialTokensMask: [Bool] = [], typeIds: [Int]? = nil) {
        self.ids = ids; self.offsets = offsets; self.specialTokensMask = specialTokensMask
        self.typeIds = typeIds ?? Array(repeating: 0, count: ids.count)
    }

    mutating func append(_ other: Encoding) {
        ids += other.ids; offsets += other.offsets; specialTokensMask += other.specialTokensMask; typeIds += other.typeIds
    }
}
