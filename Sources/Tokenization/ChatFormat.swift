import Jinja
import Values

/// TRL's former `setup_chat_format` (trl 0.25 `models/utils.py`): ChatML tokens and template. The tokens are added as
/// special tokens, `<|im_start|>` becomes BOS and `<|im_end|>` EOS and pad; the model resizes its embeddings.
public enum ChatML {
    public static let bos = "<|im_start|>"
    public static let eos = "<|im_end|>"
    public static let pad = "<|im_end|>"
    public static let template =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
        + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
}

/// A chat template ready to render conversations, with the spans of assistant text that carry loss.
public struct ChatFormat: Sendable {
    public let template: Template
    public let source: String
    public let specialTokens: [String: String]
    /// Whether the template marks assistant text with `{% generation %}` (then the marks are used as they are).
    public let hasGenerationBlocks: Bool

    public init(source: String, specialTokens: [String: String] = [:]) throws {
        self.source = source
        self.template = try Template(source)
        self.specialTokens = specialTokens
        self.hasGenerationBlocks = source.contains("generation %}") || source.contains("generation -%}")
    }

    /// Renders like `apply_chat_template(messages, tokenize=False, add_generation_prompt=...)`.
    public func render(_ messages: [Value], addGenerationPrompt: Bool = false, tools: [Value]? = nil,
                       extra: [String: Value] = [:]) throws -> String {
        let context = ChatTemplateContext(messages: messages, addGenerationPrompt: addGenerationPrompt,
                                          specialTokens: specialTokens, tools: tools, extra: extra)
        return try template.render(context.values())
    }

    /// A template that renders a conversation's prefix differently from the whole conversation, so that what the
    /// model is trained on is not what it will see when asked to generate.
    public struct InconsistentTemplate: Error, CustomStringConvertible, Sendable {
        public var messageIndex: Int
        public var detail: String
        public var description: String {
            "the chat template renders the conversation up to message \(messageIndex) differently as a generation prompt than inside the full conversation (\(detail)); "
            + "assistant-only loss cannot be marked reliably — use a template with {% generation %} blocks or fix the template"
        }
    }

    /// The rendered conversation and the UTF-8 byte ranges of assistant text that should carry loss.
    ///
    /// With `{% generation %}` blocks those marks are the spans (as transformers' `return_assistant_tokens_mask`).
    /// Otherwise each assistant turn i is found by rendering: its span starts where
    /// `render(messages[..<i], add_generation_prompt: true)` ends and ends where `render(messages[...i])` ends, so it
    /// covers the content, the end-of-turn token and what follows it up to the next turn — as TRL's training
    /// variants of stock templates mark it (Qwen2.5: `...<|im_end|>\n`). Both renders must be prefixes of the full
    /// render, or the template is reported as inconsistent. The prefix renders come from one pass over the
    /// conversation wherever the template allows it (`Template.renderWithPrefixes`), so the cost grows with the
    /// conversation's length rather than its square.
    public func renderWithAssistantSpans(_ messages: [Value], tools: [Value]? = nil, extra: [String: Value] = [:]) throws
        -> (text: String, assistantSpans: [Range<Int>])
    {
        let context = ChatTemplateContext(messages: messages, specialTokens: specialTokens, tools: tools, extra: extra)
        if hasGenerationBlocks {
            let (text, spans) = try template.renderWithGenerationSpans(context.values())
            return (text, spans)
        }
        let turns = messages.indices.filter { messages[$0]["role"]?.stringValue == "assistant" }
        let requests = turns.flatMap { i in
            [Template.PrefixRequest(count: i, overrides: ["add_generation_prompt": .bool(true)]), Template.PrefixRequest(count: i + 1)]
        }
        let (full, prefixes) = try template.renderWithPrefixes(try context.values(), list: "messages", prefixes: requests)
        let fullBytes = Array(full.utf8)
        var spans: [Range<Int>] = []
        for (n, i) in turns.enumerated() {
            let prompt = try prefixes[2 * n].get()
            let through = try prefixes[2 * n + 1].get()
            guard prompt.isPrefix(of: fullBytes) else {
                throw InconsistentTemplate(messageIndex: i, detail: "the generation prompt is not a prefix of the conversation")
            }
            guard through.isPrefix(of: fullBytes), through.utf8Count >= prompt.utf8Count else {
                throw InconsistentTemplate(messageIndex: i, detail: "the conversation up to this turn is not a prefix of the whole")
            }
            if through.utf8Count > prompt.utf8Count { spans.append(prompt.utf8Count..<through.utf8Count) }
        }
        return (full, spans)
    }
}
