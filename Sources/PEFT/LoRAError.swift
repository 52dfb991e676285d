/// A LoRA setup or adapter-file problem: `source` is the file (or the setting) at fault, the message says what is
/// wrong and what to do, in the form of `WeightFileError`.
public struct LoRAError: Error, CustomStringConvertible, Sendable {
    public var source: String
    public var message: String
    public init(_ source: String, _ message: String) { self.source = source; self.message = message }
    public var description: String { "\(source): \(message)" }
}
