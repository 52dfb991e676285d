/// A template syntax or runtime error (including `raise_exception`), with the template line it came from.
///
/// jinja2 raises `TemplateSyntaxError`, `UndefinedError`, `TypeError` or `TemplateError`; callers of a chat
/// template only need the message and the line to fix the template or the conversation.
public struct JinjaError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var line: Int?

    public init(_ message: String, line: Int? = nil) {
        self.message = message
        self.line = line
    }

    public var description: String {
        if let line { return "chat template line \(line): \(message)" }
        return "chat template: \(message)"
    }
}
