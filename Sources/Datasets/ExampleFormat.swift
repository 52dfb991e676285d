import Values

/// One row as the trainer sees it before tokenization, in TRL's dataset types.
public enum FormattedExample: Sendable, Equatable {
    /// Language modelling on plain text (`dataset_text_field`, or a `template`).
    case text(String)
    /// `messages`: a list of {role, content}, rendered with the chat template.
    case conversation([Value])
    /// `prompt`/`completion` strings.
    case promptCompletion(prompt: String, completion: String)
    /// `prompt`/`completion` as message lists.
    case conversationalPromptCompletion(prompt: [Value], completion: [Value])
}

/// The dataset formats TRL recognises, chosen from the columns (`auto`) or forced with `data.format`.
public enum DatasetFormat: String, Sendable, CaseIterable {
    case text, conversational, instruction

    /// TRL's detection order: `messages` (or ShareGPT `conversations`) → conversational; `prompt`+`completion` →
    /// instruction; otherwise text.
    public static func detect(columns: [String], textField: String) -> DatasetFormat {
        if columns.contains("messages") || columns.contains("conversations") { return .conversational }
        if columns.contains("prompt") && columns.contains("completion") { return .instruction }
        return .text
    }
}

/// Turns rows into `FormattedExample`s: picks the columns, maps ShareGPT turns, applies `{field}` templates.
public struct ExampleFormatter: Sendable {
    public var format: DatasetFormat
    public var textField: String
    public var template: FieldTemplate?

    public init(format: DatasetFormat, textField: String = "text", template: FieldTemplate? = nil) {
        self.format = format
        self.textField = textField
        self.template = template
    }

    /// ShareGPT speaker names mapped to chat roles (as Axolotl and LLaMA-Factory map them).
    public static let shareGPTRoles: [String: String] = [
        "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant",
        "bing": "assistant", "bard": "assistant", "model": "assistant", "system": "system", "tool": "tool",
        "function_call": "assistant", "observation": "tool",
    ]

    public func format(_ row: Row) throws -> FormattedExample {
        func fail(_ reason: String, _ fix: String) -> DataError { DataError(location: row.location.description, reason: reason, fix: fix) }
        if let template {
            return .text(try template.render(row))
        }
        switch format {
        case .text:
            guard let v = row[textField] else {
                throw fail("no \"\(textField)\" column (columns: \(row.columns.keys.joined(separator: ", ")))",
                           "set data.dataset_text_field to the text column, data.template to combine columns, or data.format")
            }
            guard let s = v.stringValue else {
                throw fail("\"\(textField)\" is \(v.typeName), not text", "make the column text, or format it with data.template")
            }
            return .text(s)
        case .conversational:
            if let messages = row["messages"] {
                return .conversation(try checkMessages(messages, column: "messages", fail))
            }
            if let turns = row["conversations"] {
                return .conversation(try shareGPT(turns, fail))
            }
            if let p = row["prompt"], let c = row["completion"], p.arrayValue != nil {
                return .conversationalPromptCompletion(prompt: try checkMessages(p, column: "prompt", fail),
                                                       completion: try checkMessages(c, column: "completion", fail))
            }
            throw fail("no \"messages\" or \"conversations\" column (columns: \(row.columns.keys.joined(separator: ", ")))",
                       "use a messages column of {role, content} objects, or set data.format")
        case .instruction:
            guard let p = row["prompt"], let c = row["completion"] else {
                throw fail("prompt/completion data needs \"prompt\" and \"completion\" columns (columns: \(row.columns.keys.joined(separator: ", ")))",
                           "rename the columns, or use data.template to build text")
            }
            if p.arrayValue != nil || c.arrayValue != nil {
                return .conversationalPromptCompletion(prompt: try checkMessages(p, column: "prompt", fail),
                                                       completion: try checkMessages(c, column: "completion", fail))
            }
            guard let ps = p.stringValue, let cs = c.stringValue else {
                throw fail("prompt and completion must be text (got \(p.typeName) and \(c.typeName))", "make both columns text")
            }
            return .promptCompletion(prompt: ps, completion: cs)
        }
    }

    func checkMessages(_ v: Value, column: String, _ fail: (String, String) -> DataError) throws -> [Value] {
        guard let list = v.arrayValue else { throw fail("\"\(column)\" is \(v.typeName), not a list of messages", "write [{\"role\": ..., \"content\": ...}, ...]") }
        for (i, m) in list.enumerated() {
            guard m.objectValue != nil else { throw fail("\(column)[\(i)] is \(m.typeName), not a message object", "write {\"role\": ..., \"content\": ...}") }
            guard m["role"]?.stringValue != nil else { throw fail("\(column)[\(i)] has no \"role\"", "give every message a role (system, user, assistant, tool)") }
        }
        return list
    }

    func shareGPT(_ v: Value, _ fail: (String, String) -> DataError) throws -> [Value] {
        guard let turns = v.arrayValue else { throw fail("\"conversations\" is \(v.typeName), not a list", "write [{\"from\": \"human\", \"value\": ...}, ...]") }
        return try turns.enumerated().map { i, t in
            guard let from = t["from"]?.stringValue, let value = t["value"]?.stringValue else {
                throw fail("conversations[\(i)] needs \"from\" and \"value\" text", "use ShareGPT's {\"from\": ..., \"value\": ...} turns")
            }
            guard let role = Self.shareGPTRoles[from.lowercased()] else {
                throw fail("conversations[\(i)].from is \"\(from)\", which is not a known speaker",
                           "use one of: " + Self.shareGPTRoles.keys.sorted().joined(separator: ", "))
            }
            return ["role": .string(role), "content": .string(value)]
        }
    }
}

/// A `{field}` template such as `"### Question: {question}\n ### Answer: {answer}"` — the recipe's formatting
/// function. `{{` and `}}` stand for literal braces, as in Python's `str.format`.
public struct FieldTemplate: Sendable, Equatable {
    enum Piece: Sendable, Equatable { case literal(String), field(String) }
    let pieces: [Piece]
    public let source: String

    public var fields: [String] { pieces.compactMap { if case .field(let f) = $0 { return f }; return nil } }

    public init(_ source: String) throws {
        self.source = source
        var pieces: [Piece] = []
        var literal = ""
        var chars = Array(source)[...]
        while let c = chars.first {
            chars = chars.dropFirst()
            if c == "{" {
                if chars.first == "{" { literal.append("{"); chars = chars.dropFirst(); continue }
                guard let close = chars.firstIndex(of: "}") else {
                    throw DataError(location: "data.template", reason: "a \"{\" is never closed", fix: "write {{ for a literal brace")
                }
                let name = String(chars[chars.startIndex..<close]).trimmingCharacters(in: .whitespaces)
                guard !name.isEmpty else { throw DataError(location: "data.template", reason: "empty field name {}", fix: "name a column, e.g. {question}") }
                if !literal.isEmpty { pieces.append(.literal(literal)); literal = "" }
                pieces.append(.field(name))
                chars = chars[chars.index(after: close)...]
            } else if c == "}" {
                guard chars.first == "}" else { throw DataError(location: "data.template", reason: "a lone \"}\"", fix: "write }} for a literal brace") }
                literal.append("}")
                chars = chars.dropFirst()
            } else {
                literal.append(c)
            }
        }
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        self.pieces = pieces
    }

    /// Fills the fields from a row; numbers print as Python prints them, missing or null fields are errors.
    public func render(_ row: Row) throws -> String {
        var out = ""
        for piece in pieces {
            switch piece {
            case .literal(let s): out += s
            case .field(let name):
                guard let v = row[name], !v.isNull else {
                    throw DataError(location: row.location.description,
                                    reason: row[name] == nil ? "the template names {\(name)}, but the row has no such column (columns: \(row.columns.keys.joined(separator: ", ")))" : "{\(name)} is null",
                                    fix: "fix data.template or the row, or set data.on_bad_row: skip")
                }
                switch v {
                case .string(let s): out += s
                case .int(let i): out += String(i)
                case .double(let d): out += d.description
                case .bool(let b): out += b ? "True" : "False"
                default:
                    throw DataError(location: row.location.description, reason: "{\(name)} is \(v.typeName), not text", fix: "template only text or number columns")
                }
            }
        }
        return out
    }
}
