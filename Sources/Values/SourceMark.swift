/// Where a value came from in a source text: file, 1-based line and column, and the byte range of its token.
public struct SourceMark: Sendable, Equatable, Hashable {
    public var file: String
    public var line: Int
    public var column: Int
    /// Byte offsets of the node's text in the source (used by rewriting tools such as `sftrun migrate`).
    public var startOffset: Int
    public var endOffset: Int

    public init(file: String, line: Int, column: Int, startOffset: Int = 0, endOffset: Int = 0) {
        self.file = file
        self.line = line
        self.column = column
        self.startOffset = startOffset
        self.endOffset = endOffset
    }

    /// `file:line:col`, the form editors and CI annotators understand.
    public var location: String { "\(file):\(line):\(column)" }
}
