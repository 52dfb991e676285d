/// The result of encoding one text: token ids, the UTF-8 byte range of the ORIGINAL text each token covers
/// (empty ranges for tokens the post-processor added), and which tokens are special.
public struct Encoding: Sendable, Equatable {
    public var ids: [Int]
    public var offsets: [Range<Int>]
    public var specialTokensMask: [Bool]
    public init(ids: [Int] = [], offsets: [Range<Int>] = [], specialTokensMask: [Bool] = []) {
        self.ids = ids; self.offsets = offsets; self.specialTokensMask = specialTokensMask
    }
}
