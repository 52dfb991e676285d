import Values
import XCTest

@testable import Jinja

/// `renderWithPrefixes` must give exactly what separate renders of each prefix give — text or error — whether a
/// prefix is continued from the full render or rendered on its own.
final class PrefixRenderingTests: XCTestCase {
    static let chatML = "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
        + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

    static func conversation(_ roles: [String]) -> [Value] {
        roles.enumerated().map { i, r in ["role": .string(r), "content": .string("turn \(i) of \(r) ü")] }
    }

    static let conversations: [[Value]] = [
        [],
        conversation(["user", "assistant"]),
        conversation(["system", "user", "assistant", "user", "assistant", "user", "assistant"]),
        conversation(["assistant", "user", "assistant"]),
        conversation(["user", "assistant", "assistant", "user"]),
    ]

    /// Every prefix of `messages`, with and without the generation prompt, against separate renders.
    func mismatches(_ source: String, _ base: [String: Value], _ messages: [Value], label: String) throws -> (failures: [String], continued: Int) {
        let t = try Template(source)
        var context = base
        context["messages"] = .array(messages)
        context["add_generation_prompt"] = .bool(false)
        var requests: [Template.PrefixRequest] = []
        for k in 0...messages.count {
            requests.append(.init(count: k, overrides: ["add_generation_prompt": .bool(true)]))
            requests.append(.init(count: k))
        }
        let expectedFull = Result { try t.render(context) }
        let got: (text: String, prefixes: [Result<Template.PrefixText, any Error>])
        do { got = try t.renderWithPrefixes(context, list: "messages", prefixes: requests) } catch {
            if case .failure(let e) = expectedFull, "\(e)" == "\(error)" { return ([], 0) }
            return (["\(label): full render failed with \(error), separately \(expectedFull)"], 0)
        }
        var failures: [String] = []
        if case .success(let s) = expectedFull, s != got.text { failures.append("\(label): full text differs") }
        if case .failure(let e) = expectedFull { failures.append("\(label): full render should fail with \(e)") }
        let fullBytes = Array(got.text.utf8)
        var continued = 0
        for (request, result) in zip(requests, got.prefixes) {
            var c = context
            c["messages"] = .array(Array(messages.prefix(request.count)))
            for (k, v) in request.overrides { c[k] = v }
            let expected = Result { try t.render(c) }
            switch (expected, result) {
            case (.success(let want), .success(let p)):
                let text = String(decoding: fullBytes[..<min(p.sharedLength, fullBytes.count)], as: UTF8.self) + p.rest
                if text != want { failures.append("\(label) k=\(request.count) \(request.overrides): \(text.debugDescription) != \(want.debugDescription)") }
                if p.sharedLength > 0 && request.count < messages.count { continued += 1 }
            case (.failure(let a), .failure(let b)):
                if "\(a)" != "\(b)" { failures.append("\(label) k=\(request.count): error \(b) != \(a)") }
            default:
                failures.append("\(label) k=\(request.count) \(request.overrides): \(result) but separately \(expected)")
            }
        }
        return (failures, continued)
    }

    func testRealTemplatesGiveTheSeparateRendersOfEveryPrefix() throws {
        var seen = Set<String>()
        var failures: [String] = []
        var continued: [String: Int] = [:]
        for c in try FixtureRenderTests.loadCases("real_templates.json") where c.error == nil && c.errorLine == nil {
            let family = String(c.name.split(separator: "/").first ?? "")
            var base = c.context
            base["messages"] = nil
            if let messages = c.context["messages"]?.arrayValue {
                let r = try mismatches(c.template, base, messages, label: c.name)
                failures += r.failures
                continued[family, default: 0] += r.continued
            }
            guard seen.insert(c.template).inserted else { continue }
            for (i, m) in Self.conversations.enumerated() {
                let r = try mismatches(c.template, base, m, label: "\(family) conversation \(i)")
                failures += r.failures
                continued[family, default: 0] += r.continued
            }
        }
        XCTAssert(failures.isEmpty, failures.joined(separator: "\n"))
        for family in ["smollm2", "qwen25", "llama3", "phi3", "gemma2"] {
            XCTAssertGreaterThan(continued[family] ?? 0, 0, "\(family): no prefix was continued from the full render")
        }
    }

    func testProbeTemplatesGiveTheSeparateRendersOfEveryPrefix() throws {
        var failures: [String] = []
        for c in try FixtureRenderTests.loadCases("probes.json") where c.errorLine == nil {
            guard let messages = c.context["messages"]?.arrayValue else { continue }
            var base = c.context
            base["messages"] = nil
            failures += try mismatches(c.template, base, messages, label: c.name).failures
            for (i, m) in Self.conversations.enumerated() {
                failures += try mismatches(c.template, base, m, label: "\(c.name) conversation \(i)").failures
            }
        }
        XCTAssert(failures.isEmpty, failures.joined(separator: "\n"))
    }

    /// Templates that read ahead, count, keep state across turns or leave the loop early.
    static let tricky: [String] = [
        chatML,
        "{% for m in messages %}{{ m.role }}: {{ m.content }}{% if loop.last %} [end]{% endif %}\n{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}",
        "{% for m in messages %}{{ m.content }}{% if messages[-1].role == 'user' %}!{% endif %}|{% endfor %}",
        "{% for m in messages %}{{ loop.index }}/{{ loop.length }} {{ m.content }}{% endfor %}{{ add_generation_prompt }}",
        "{% for m in messages %}{{ m.content }}{% if loop.nextitem is defined %}, next {{ loop.nextitem.role }}{% endif %};{% endfor %}",
        "{% for m in messages %}{{ m.content }}{% if loop.previtem is defined %} after {{ loop.previtem.role }}{% endif %};{% endfor %}",
        "{% set ns = namespace(n=0, roles='') %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% set ns.roles = ns.roles + m.role[0] %}{{ m.content }}{% endfor %}[{{ ns.n }} {{ ns.roles }}]{% if add_generation_prompt %}go{% endif %}",
        "{% set ns = namespace(l=none) %}{% for m in messages %}{% set ns.l = loop %}{{ m.content }}{% endfor %}{% if ns.l %}{{ ns.l.length }}{% endif %}",
        "{% for m in messages %}{{ m.content }}{% else %}(empty){% endfor %}{% if add_generation_prompt %}>{% endif %}",
        "{% for m in messages %}{% if m.role == 'user' and loop.index0 > 2 %}{% break %}{% endif %}{{ m.content }}{% endfor %}end",
        "{% if add_generation_prompt %}G{% endif %}{% for m in messages %}{{ m.content }}{% endfor %}",
        "{% set first = messages[0] if messages else none %}{% for m in messages %}{{ m.content }}{% endfor %}{{ first.role if first else '' }}",
        "{% set loop_messages = messages %}{% for m in loop_messages %}{% if loop.first and messages[0].role != 'system' %}<default>{% endif %}{{ m.content }}{% endfor %}{% if add_generation_prompt %}+{% endif %}",
        "{% for m in messages[1:] %}{{ m.content }}{% endfor %}",
        "{% for m in messages %}{{ m.content }}{% endfor %}{% for m in messages %}{{ m.role }}{% endfor %}",
        "{% for m in messages %}{{ m.content }}{% if m.role == 'system' %}{{ raise_exception('no system') }}{% endif %}{% endfor %}{% if add_generation_prompt and messages[-1].role == 'assistant' %}{{ raise_exception('ends with assistant') }}{% endif %}",
        "{% macro turn(m) %}[{{ m.role }}]{{ m.content }}{% endmacro %}{% for m in messages %}{{ turn(m) }}{% endfor %}{% if add_generation_prompt %}{{ turn({'role': 'assistant', 'content': ''}) }}{% endif %}",
        "{% set f = messages.index %}{% for m in messages %}{{ m.content }}{% endfor %}{{ f(messages[0]) if messages else '' }}",
        "{% for m in messages %}{{ m.content }}{% if loop.index0 + 1 < messages|length %}~{% endif %}{% endfor %}",
    ]

    func testTemplatesThatReadAheadOrKeepStateGiveTheSeparateRenders() throws {
        var failures: [String] = []
        for (t, source) in Self.tricky.enumerated() {
            for (i, m) in Self.conversations.enumerated() {
                failures += try mismatches(source, [:], m, label: "template \(t) conversation \(i)").failures
            }
        }
        XCTAssert(failures.isEmpty, failures.joined(separator: "\n"))
    }

    func testAChatMLConversationIsRenderedOnceAndContinuedPerPrefix() throws {
        let messages = Self.conversations[2]
        let r = try mismatches(Self.chatML, [:], messages, label: "chatml")
        XCTAssert(r.failures.isEmpty, r.failures.joined(separator: "\n"))
        XCTAssertEqual(r.continued, 2 * (messages.count - 1), "every shorter non-empty prefix continues the full render")
    }
}
