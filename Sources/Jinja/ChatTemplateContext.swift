import OrderedCollections
import Values

/// The variables transformers' `apply_chat_template` hands a chat template (transformers 5.24,
/// tokenization_utils_base.py `apply_chat_template` → chat_template_utils.py `render_jinja_template`).
///
/// It reproduces the preprocessing a template sees: message keys whose value is null are dropped
/// (`_normalize_chat_messages`), the reasoning is copied under `thinking` and `reasoning_content`
/// (`_alias_reasoning_fields`), `tools` and `documents` are passed as None when absent, and the special tokens
/// map comes first so that extra keyword arguments override it.
public struct ChatTemplateContext: Sendable {
    public var messages: [Value]
    public var addGenerationPrompt: Bool
    /// The tokenizer's `special_tokens_map` (`bos_token`, `eos_token`, `unk_token`, `pad_token`, …) as strings.
    public var specialTokens: [String: String]
    public var tools: [Value]?
    public var documents: [Value]?
    /// Extra `**kwargs` of `apply_chat_template` (for example `enable_thinking`, `date_string`).
    public var extra: [String: Value]

    public init(messages: [Value], addGenerationPrompt: Bool = false, specialTokens: [String: String] = [:],
                tools: [Value]? = nil, documents: [Value]? = nil, extra: [String: Value] = [:]) {
        self.messages = messages
        self.addGenerationPrompt = addGenerationPrompt
        self.specialTokens = specialTokens
        self.tools = tools
        self.documents = documents
        self.extra = extra
    }

    /// Names a message's reasoning is passed under; the first is the one chat templates read.
    static let reasoningFields = ["reasoning_content", "thinking", "reasoning"]

    /// The context dictionary for `Template.render`; throws when a message is not an object, as transformers does.
    public func values() throws -> [String: Value] {
        var out: [String: Value] = [:]
        for (k, v) in specialTokens { out[k] = .string(v) }
        for (k, v) in extra { out[k] = v }
        var msgs: [Value] = []
        for (i, m) in messages.enumerated() {
            guard case .object(let o) = m else {
                throw JinjaError("Chat messages should be dicts, but message \(i) is a \(m.typeName); give each message an object with 'role' and 'content'")
            }
            var kept = o.filter { !$0.value.isNull }
            if let reasoning = Self.reasoningFields.lazy.compactMap({ kept[$0] }).first {
                var aliased: OrderedDictionary<String, Value> = ["thinking": reasoning]
                for (k, v) in kept { aliased[k] = v }
                aliased["reasoning_content"] = reasoning
                kept = aliased
            }
            msgs.append(.object(kept))
        }
        out["messages"] = .array(msgs)
        out["tools"] = tools.map { .array($0) } ?? .null
        out["documents"] = documents.map { .array($0) } ?? .null
        out["add_generation_prompt"] = .bool(addGenerationPrompt)
        return out
    }
}
