import XCTest
import Values
@testable import Tokenization

final class ChatFormatTests: XCTestCase {
    let conversation: [Value] = [
        ["role": "system", "content": "Be brief."], ["role": "user", "content": "Hi"],
        ["role": "assistant", "content": "Hello!"], ["role": "user", "content": "Bye"], ["role": "assistant", "content": "Bye."],
    ]

    func substrings(_ text: String, _ spans: [Range<Int>]) -> [String] {
        let bytes = Array(text.utf8)
        return spans.map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    func testChatMLRendersAsTRLSetupChatFormat() throws {
        let chat = try ChatFormat(source: ChatML.template)
        XCTAssertEqual(try chat.render(Array(conversation[1...2]), addGenerationPrompt: false),
                       "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello!<|im_end|>\n")
        XCTAssertEqual(try chat.render(Array(conversation[1...1]), addGenerationPrompt: true), "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n")
    }

    func testAssistantSpansByIncrementalRenderingCoverContentAndEndOfTurn() throws {
        let chat = try ChatFormat(source: ChatML.template)
        let (text, spans) = try chat.renderWithAssistantSpans(conversation)
        XCTAssertEqual(substrings(text, spans), ["Hello!<|im_end|>\n", "Bye.<|im_end|>\n"])
    }

    func testGenerationBlocksAreUsedWhenPresent() throws {
        let source = "{% for m in messages %}<|{{ m.role }}|>{% if m.role == 'assistant' %}{% generation %}{{ m.content }}</s>{% endgeneration %}{% else %}{{ m.content }}{% endif %}\n{% endfor %}"
        let chat = try ChatFormat(source: source)
        XCTAssertTrue(chat.hasGenerationBlocks)
        let (text, spans) = try chat.renderWithAssistantSpans(conversation)
        XCTAssertEqual(substrings(text, spans), ["Hello!</s>", "Bye.</s>"])
    }

    func testTemplateThatRendersPrefixesDifferentlyIsReported() throws {
        // Puts a marker on the last message only, so a prefix render differs from the full conversation.
        let source = "{% for m in messages %}{{ m.role }}: {{ m.content }}{% if loop.last %} [end]{% endif %}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}"
        let chat = try ChatFormat(source: source)
        XCTAssertThrowsError(try chat.renderWithAssistantSpans(conversation)) { error in
            XCTAssertTrue("\(error)".contains("renders the conversation up to message 2 differently"), "\(error)")
        }
    }

    func testMultibyteContentGivesByteSpans() throws {
        let chat = try ChatFormat(source: ChatML.template)
        let (text, spans) = try chat.renderWithAssistantSpans([["role": "user", "content": "¿Qué?"], ["role": "assistant", "content": "Très bien 😀"]])
        XCTAssertEqual(substrings(text, spans), ["Très bien 😀<|im_end|>\n"])
    }
}
