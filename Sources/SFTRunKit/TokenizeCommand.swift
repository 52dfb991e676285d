import Foundation
import Tokenization
import Values

/// `sftrun tokenize`: JSONL in, JSONL out — what the model sees for each input line, for debugging and parity checks.
public struct TokenizeCommand {
    public var tokenizer: Tokenizer
    public var addSpecialTokens = true
    public var chatTemplate = false
    public var addGenerationPrompt = false
    public var decode = false

    public init(tokenizer: Tokenizer, addSpecialTokens: Bool = true, chatTemplate: Bool = false,
                addGenerationPrompt: Bool = false, decode: Bool = false) {
        self.tokenizer = tokenizer
        self.addSpecialTokens = addSpecialTokens
        self.chatTemplate = chatTemplate
        self.addGenerationPrompt = addGenerationPrompt
        self.decode = decode
    }

    struct LineError: Error, CustomStringConvertible { var message: String; var description: String { message } }

    var specialTokens: [String: String] {
        var m: [String: String] = [:]
        if let t = tokenizer.bosToken { m["bos_token"] = t }
        if let t = tokenizer.eosToken { m["eos_token"] = t }
        if let t = tokenizer.padToken { m["pad_token"] = t }
        if let t = tokenizer.unkToken { m["unk_token"] = t }
        return m
    }

    /// One output line per input line; `{"error": ...}` in place of a line that cannot be processed.
    public func process(line: String, chat: ChatFormat?) -> (output: String, failed: Bool) {
        do {
            return (JSON.serialize(try transform(line, chat: chat)), false)
        } catch let e as LineError {
            return (JSON.serialize(["error": .string(e.message)]), true)
        } catch {
            return (JSON.serialize(["error": .string("\(error)")]), true)
        }
    }

    func transform(_ line: String, chat: ChatFormat?) throws -> Value {
        let input: Value
        do { input = try JSON.parse(line) } catch { throw LineError(message: "malformed JSON: \(error)") }
        guard input.objectValue != nil else { throw LineError(message: "each line must be a JSON object with \"text\", \"messages\" or \"ids\"") }
        if let ids = input["ids"]?.arrayValue {
            let ints = try ids.map { v -> Int in
                guard let i = v.intValue, i >= 0, i < tokenizer.vocabSize else { throw LineError(message: "\"ids\" must be token ids in 0..<\(tokenizer.vocabSize)") }
                return i
            }
            return ["text": .string(tokenizer.decode(ints))]
        }
        var out: Value = [:]
        let ids: [Int]
        if let messages = input["messages"] {
            guard let chat else { throw LineError(message: "\"messages\" needs --chat-template (and a tokenizer with a chat template)") }
            guard let list = messages.arrayValue else { throw LineError(message: "\"messages\" must be a list of {role, content}") }
            let (text, spans) = try chat.renderWithAssistantSpans(list)
            let rendered = addGenerationPrompt ? try chat.render(list, addGenerationPrompt: true) : text
            let encoding = tokenizer.encode(rendered, addSpecialTokens: false)
            ids = encoding.ids
            out.setValue(.string(rendered), at: ["text"])
            let mask: [Value] = encoding.offsets.map { o in
                .int(spans.contains { o.upperBound > $0.lowerBound && o.lowerBound < $0.upperBound } ? 1 : 0)
            }
            out.setValue(.array(ids.map { .int($0) }), at: ["ids"])
            out.setValue(.array(mask), at: ["assistant_mask"])
        } else if let text = input["text"] {
            guard let s = text.stringValue else { throw LineError(message: "\"text\" must be a string, got \(text.typeName)") }
            if chatTemplate { throw LineError(message: "--chat-template needs {\"messages\": [...]} lines") }
            ids = tokenizer.encode(s, addSpecialTokens: addSpecialTokens).ids
            out.setValue(.array(ids.map { .int($0) }), at: ["ids"])
        } else {
            throw LineError(message: "each line needs \"text\", \"messages\" or \"ids\"")
        }
        if decode { out.setValue(.string(tokenizer.decode(ids)), at: ["decoded"]) }
        return out
    }

    /// Reads stdin to the end; returns the exit status (1 when any line failed).
    public func run(input: FileHandle = .standardInput, output: (String) -> Void = { print($0) }) throws -> Int32 {
        var chat: ChatFormat?
        if chatTemplate {
            guard let source = tokenizer.chatTemplate else {
                throw LineError(message: "the tokenizer has no chat_template in tokenizer_config.json; pass one with a recipe's tokenizer.chat_template")
            }
            chat = try ChatFormat(source: source, specialTokens: specialTokens)
        }
        var failed = false
        let data = input.readDataToEndOfFile()
        let text = String(decoding: data, as: UTF8.self)
        if text.isEmpty { return 0 }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast(text.hasSuffix("\n") ? 1 : 0) {
            let (o, f) = process(line: String(line), chat: chat)
            output(o)
            failed = failed || f
        }
        return failed ? 1 : 0
    }
}
