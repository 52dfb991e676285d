import Values

/// What the data pipeline needs from a tokenizer; `Tokenization.Tokenizer` conforms in SFTRunKit.
public protocol TokenEncoder: Sendable {
    /// Ids and each token's UTF-8 byte range in `text`.
    func encodeWithOffsets(_ text: String, addSpecialTokens: Bool) -> (ids: [Int], offsets: [Range<Int>])
    var eosToken: String? { get }
}

/// Token ids and labels of one example; label -100 means "no loss here".
public struct TokenizedExample: Sendable, Equatable {
    public static let ignoreIndex = -100
    public var inputIDs: [Int]
    public var labels: [Int]
    public var hasLoss: Bool { labels.contains { $0 != Self.ignoreIndex } }

    public init(inputIDs: [Int], labels: [Int]) {
        self.inputIDs = inputIDs
        self.labels = labels
    }
}

/// Turns formatted examples into ids and labels with TRL 1.16's rules (see `../shared/notes/trl-training-semantics.md`):
/// - text: append the EOS *string* when the text does not already end with it, tokenize with special tokens,
///   labels = ids;
/// - prompt/completion: append EOS to the completion, tokenize `prompt` and `prompt + completion`, and take the loss
///   after their longest common prefix (so a prompt word that merges with the completion is handled);
/// - conversation: render with the chat template, tokenize without special tokens; with assistant-only loss a token
///   is labelled when its byte range overlaps an assistant span (`end > s && start < e`);
/// - then truncate to the first `maxLength` tokens (`keep_start`), after EOS was appended.
public struct ExampleTokenizer: Sendable {
    public var encoder: any TokenEncoder
    public var maxLength: Int?
    public var addEOS: Bool
    public var completionOnlyLoss: Bool
    public var assistantOnlyLoss: Bool
    /// Renders a conversation, and with `addGenerationPrompt` a prompt for the next assistant turn, returning the
    /// text and the assistant spans (UTF-8 byte ranges).
    public var renderChat: (@Sendable (_ messages: [Value], _ addGenerationPrompt: Bool) throws -> (text: String, assistantSpans: [Range<Int>]))?
    /// `response_template` / `instruction_template` of the removed completion-only collator, as text.
    public var responseTemplate: String?
    public var instructionTemplate: String?

    public init(encoder: any TokenEncoder, maxLength: Int?, addEOS: Bool = true, completionOnlyLoss: Bool = true,
                assistantOnlyLoss: Bool = false, responseTemplate: String? = nil, instructionTemplate: String? = nil,
                renderChat: (@Sendable ([Value], Bool) throws -> (text: String, assistantSpans: [Range<Int>]))? = nil) {
        self.encoder = encoder
        self.maxLength = maxLength
        self.addEOS = addEOS
        self.completionOnlyLoss = completionOnlyLoss
        self.assistantOnlyLoss = assistantOnlyLoss
        self.responseTemplate = responseTemplate
        self.instructionTemplate = instructionTemplate
        self.renderChat = renderChat
    }

    /// A template that does not occur in an example: the example is reported, never silently trained on in full.
    public struct TemplateNotFound: Error, Sendable, Equatable { public var template: String }

    func withEOS(_ s: String) -> String {
        guard addEOS, let eos = encoder.eosToken, !s.hasSuffix(eos) else { return s }
        return s + eos
    }

    func truncate(_ e: TokenizedExample) -> TokenizedExample {
        guard let m = maxLength, e.inputIDs.count > m else { return e }
        return TokenizedExample(inputIDs: Array(e.inputIDs.prefix(m)), labels: Array(e.labels.prefix(m)))
    }

    public func tokenize(_ example: FormattedExample) throws -> TokenizedExample {
        switch example {
        case .text(let text):
            let full = withEOS(text)
            let (ids, offsets) = encoder.encodeWithOffsets(full, addSpecialTokens: true)
            if let response = responseTemplate {
                return truncate(TokenizedExample(inputIDs: ids, labels: try templateLabels(full, ids, offsets, response: response)))
            }
            return truncate(TokenizedExample(inputIDs: ids, labels: ids))
        case .promptCompletion(let prompt, let completion):
            return truncate(prefixMasked(prompt: prompt, full: prompt + withEOS(completion), addSpecialTokens: true))
        case .conversation(let messages):
            guard let renderChat else { preconditionFailure("a chat renderer is needed for conversational data") }
            let (text, spans) = try renderChat(messages, false)
            let (ids, offsets) = encoder.encodeWithOffsets(text, addSpecialTokens: false)
            guard assistantOnlyLoss else { return truncate(TokenizedExample(inputIDs: ids, labels: ids)) }
            let overlaps = SpanOverlap(spans)
            let labels = zip(ids, offsets).map { id, o in overlaps.hits(o) ? id : TokenizedExample.ignoreIndex }
            return truncate(TokenizedExample(inputIDs: ids, labels: labels))
        case .conversationalPromptCompletion(let prompt, let completion):
            guard let renderChat else { preconditionFailure("a chat renderer is needed for conversational data") }
            let promptText = try renderChat(prompt, true).text
            let fullText = try renderChat(prompt + completion, false).text
            return truncate(prefixMasked(prompt: promptText, full: fullText, addSpecialTokens: false))
        }
    }

    func prefixMasked(prompt: String, full: String, addSpecialTokens: Bool) -> TokenizedExample {
        let promptIDs = encoder.encodeWithOffsets(prompt, addSpecialTokens: addSpecialTokens).ids
        let ids = encoder.encodeWithOffsets(full, addSpecialTokens: addSpecialTokens).ids
        guard completionOnlyLoss else { return TokenizedExample(inputIDs: ids, labels: ids) }
        var p = 0
        while p < promptIDs.count, p < ids.count, promptIDs[p] == ids[p] { p += 1 }
        return TokenizedExample(inputIDs: ids, labels: Array(repeating: TokenizedExample.ignoreIndex, count: p) + ids[p...])
    }

    /// Completion-only loss from text markers: tokens that start at or after the end of a response template carry
    /// loss, up to the start of the next instruction template. Matching is done on the text and mapped through the
    /// token offsets, so it works even where a tokenizer spells the template differently in context (Llama-2).
    func templateLabels(_ text: String, _ ids: [Int], _ offsets: [Range<Int>], response: String) throws -> [Int] {
        let bytes = Array(text.utf8)
        func occurrences(_ needle: String) -> [Int] {
            let n = Array(needle.utf8)
            guard !n.isEmpty, n.count <= bytes.count else { return [] }
            var out: [Int] = []
            var i = 0
            while i + n.count <= bytes.count {
                if bytes[i] == n[0] && Array(bytes[i..<i + n.count]) == n { out.append(i); i += n.count } else { i += 1 }
            }
            return out
        }
        let responseStarts = occurrences(response)
        guard !responseStarts.isEmpty else { throw TemplateNotFound(template: response) }
        let responseLength = response.utf8.count
        let instructionStarts = instructionTemplate.map(occurrences) ?? []
        var trained: [Range<Int>] = []
        for start in responseStarts {
            let from = start + responseLength
            let to = instructionStarts.first { $0 >= from } ?? bytes.count
            trained.append(from..<to)
            if instructionTemplate == nil { break }  // without an instruction template the first response runs to the end
        }
        return zip(ids, offsets).map { id, o in
            trained.contains { o.lowerBound >= $0.lowerBound && o.lowerBound < $0.upperBound } ? id : TokenizedExample.ignoreIndex
        }
    }
}
