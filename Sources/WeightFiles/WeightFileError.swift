/// A weight file that cannot be trusted: names the file, the rule it breaks, and what to do.
public struct WeightFileError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var message: String
    public init(file: String, _ message: String) { self.file = file; self.message = message }
    public var description: String { "\(file): \(message)" }
}
