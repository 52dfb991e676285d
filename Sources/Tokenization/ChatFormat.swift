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
    /// render, or the template is reported as inconsistent.
    public func renderWithAssistantSpans(_ messages: [Value], tools: [Value]? = nil, extra: [String: Value] = [:]) throws
        -> (text: String, assistantSpans: [Range<Int>])
    {
        if hasGenerationBlocks {
            let context = ChatTemplateContext(messages: messages, specialTokens: specialTokens, tools: tools, extra: extra)
            let (text, spans) = try template.renderWithGenerationSpans(context.values())
            return (text, spans)
        }
        let full = try render(messages, tools: tools, extra: extra)
        let fullBytes = Array(full.utf8)
        var spans: [Range<Int>] = []
        for (i, message) in messages.enumerated() where message["role"]?.stringValue == "assistant" {
            let prompt = Array(try render(Array(messages[..<i]), addGenerationPrompt: true, tools: tools, extra: extra).utf8)
            let through = Array(try render(Array(messages[...i]), tools: tools, extra: extra).utf8)
            guard fullBytes.starts(with: prompt) else {
                throw InconsistentTemplate(messageIndex: i, detail: "the generation prompt is not a prefix of the conversation")
            }
            guard fullBytes.starts(with: through), through.count >= prompt.count else {
                throw InconsistentTemplate(messageIndex: i, detail: "the conversation up to this turn is not a prefix of the whole")
            }
            if through.count > prompt.count { spans.append(prompt.count..<through.count) }
        }
        return (full, spans)
    }
}
