/// A tokenizer file could not be read or uses a component this module does not implement.
public struct TokenizerError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
