import Foundation
import Models
import Values

/// `sftrun chat`: a conversation kept as messages, rendered whole through the chat template each turn, with one
/// KV cache reused across turns (only the part of the new prompt that differs from what the cache holds is
/// prefilled: usually the last reply's end-of-turn and the new user message).
public final class ChatSession {
    public let generator: Generator
    public var options: Generator.Options
    public let system: String?
    public private(set) var messages: [Value] = []
    let cache: KVCache

    public init(generator: Generator, options: Generator.Options, system: String?) throws {
        guard generator.chat != nil else {
            throw TrainingRunError("the tokenizer has no chat template, which sftrun chat needs; use sftrun generate --prompt TEXT --raw")
        }
        self.generator = generator
        self.options = options
        self.system = system
        cache = generator.model.makeKVCache()
        reset()
    }

    /// Forgets the conversation (the system message stays).
    public func reset() {
        messages = system.map { [["role": "system", "content": .string($0)]] } ?? []
    }

    /// The conversation so far plus `user`, rendered with the generation prompt.
    public func prompt(adding user: String) throws -> String {
        guard let chat = generator.chat else { return user }
        return try chat.render(messages + [["role": "user", "content": .string(user)]], addGenerationPrompt: true)
    }

    /// One turn: generates the reply to `user` (streamed through `emit`) and appends both to the conversation.
    @discardableResult
    public func reply(to user: String, emit: (String) -> Void = { _ in }) throws -> String {
        let text = try prompt(adding: user)
        let ids = generator.tokenizer.encode(text, addSpecialTokens: false).ids
        try generator.checkPromptLength(ids)
        let out = generator.generate(ids, options, cache: cache, emit: emit)
        let reply = generator.tokenizer.decodeText(out, skipSpecialTokens: true)
        messages += [["role": "user", "content": .string(user)], ["role": "assistant", "content": .string(reply)]]
        return reply
    }

    /// The loop: a line in, a streamed reply out, until `/exit` or the end of input; `/reset` clears the history.
    /// `showPrompt` sees each rendered prompt (for checking what the model is given).
    public func run(readLine: () -> String?, write: (String) -> Void, note: (String) -> Void,
                    showPrompt: ((String) -> Void)? = nil) throws {
        while let line = readLine() {
            let input = line.trimmingCharacters(in: .whitespaces)
            if input.isEmpty { continue }
            if input == "/exit" { break }
            if input == "/reset" {
                reset()
                note("(history cleared)")
                continue
            }
            if let showPrompt { showPrompt(try prompt(adding: input)) }
            try reply(to: input, emit: write)
            write("\n")
        }
    }
}
