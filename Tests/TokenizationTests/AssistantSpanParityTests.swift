import Foundation
import TestSupport
import Values
import XCTest
@testable import Tokenization

/// Assistant spans from one pass over the conversation must equal those of the definition — a render per prefix.
final class AssistantSpanParityTests: XCTestCase {
    /// The definition, rendered prefix by prefix (the former implementation).
    func spansByPrefixRenders(_ chat: ChatFormat, _ messages: [Value]) throws -> (text: String, assistantSpans: [Range<Int>]) {
        let full = try chat.render(messages)
        let fullBytes = Array(full.utf8)
        var spans: [Range<Int>] = []
        for (i, message) in messages.enumerated() where message["role"]?.stringValue == "assistant" {
            let prompt = Array(try chat.render(Array(messages[..<i]), addGenerationPrompt: true).utf8)
            let through = Array(try chat.render(Array(messages[...i])).utf8)
            guard fullBytes.starts(with: prompt) else {
                throw ChatFormat.InconsistentTemplate(messageIndex: i, detail: "the generation prompt is not a prefix of the conversation")
            }
            guard fullBytes.starts(with: through), through.count >= prompt.count else {
                throw ChatFormat.InconsistentTemplate(messageIndex: i, detail: "the conversation up to this turn is not a prefix of the whole")
            }
            if through.count > prompt.count { spans.append(prompt.count..<through.count) }
        }
        return (full, spans)
    }

    func conversation(_ roles: [String]) -> [Value] {
        roles.enumerated().map { i, r in ["role": .string(r), "content": .string("message \(i) — \(r) 😀")] }
    }

    func testOnePassSpansEqualPrefixRendersOnRealTemplates() throws {
        let url = TestSupport.packageRoot.appendingPathComponent("Tests/JinjaTests/Fixtures/real_templates.json")
        let root = try JSON.parse(String(decoding: try Data(contentsOf: url), as: UTF8.self))
        var templates: [String] = []
        for c in root["cases"]?.arrayValue ?? [] {
            if let t = c["template"]?.stringValue, !templates.contains(t) { templates.append(t) }
        }
        XCTAssertGreaterThanOrEqual(templates.count, 8)
        let long = (0..<40).map { $0 % 2 == 0 ? "user" : "assistant" }
        let conversations = [
            conversation(["user", "assistant"]), conversation(["system"] + long), conversation(long),
            conversation(["assistant", "user", "assistant"]), conversation(["user", "assistant", "assistant"]),
            conversation(["user", "assistant", "user"]),
        ]
        var compared = 0
        for t in templates {
            let chat = try ChatFormat(source: t, specialTokens: ["bos_token": "<s>", "eos_token": "</s>"])
            for (i, m) in conversations.enumerated() {
                let want = Result { try spansByPrefixRenders(chat, m) }
                let got = Result { try chat.renderWithAssistantSpans(m) }
                switch (want, got) {
                case (.success(let a), .success(let b)):
                    XCTAssertEqual(a.text, b.text, "template \(t.prefix(40)) conversation \(i)")
                    XCTAssertEqual(a.assistantSpans, b.assistantSpans, "template \(t.prefix(40)) conversation \(i)")
                    compared += 1
                case (.failure(let a), .failure(let b)):
                    XCTAssertEqual("\(a)", "\(b)", "template \(t.prefix(40)) conversation \(i)")
                default:
                    XCTFail("template \(t.prefix(40)) conversation \(i): \(got) but by prefix renders \(want)")
                }
            }
        }
        XCTAssertGreaterThan(compared, 20)
    }
}
