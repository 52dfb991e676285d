import Foundation
import Values
import XCTest

@testable import Jinja

final class ErrorAndContextTests: XCTestCase {
    func error(_ source: String, _ context: [String: Value] = [:], file: StaticString = #filePath, line: UInt = #line) -> JinjaError? {
        do {
            _ = try Template(source).render(context)
            XCTFail("expected a JinjaError", file: file, line: line)
        } catch let e as JinjaError {
            return e
        } catch {
            XCTFail("unexpected error \(error)", file: file, line: line)
        }
        return nil
    }

    func testRaiseExceptionCarriesItsMessageAndTemplateLine() {
        let e = error("a\n{% if true %}\n  {{ raise_exception('Roles must alternate') }}\n{% endif %}")
        XCTAssertEqual(e?.message, "Roles must alternate")
        XCTAssertEqual(e?.line, 3)
        XCTAssertEqual(e?.description, "chat template line 3: Roles must alternate")
    }

    func testUnclosedBlockIsASyntaxErrorAtTheEndOfTheTemplate() {
        let e = error("{% for m in messages %}\n{{ m }}\n")
        XCTAssertEqual(e?.line, 2)
        XCTAssert(e?.message.contains("'endfor'") == true, e?.message ?? "")
    }

    func testUnterminatedStringNamesItsLine() {
        let e = error("x\ny\n{{ 'abc }}")
        XCTAssertEqual(e?.line, 3)
        XCTAssert(e?.message.contains("unterminated string") == true)
    }

    func testAttributeOfUndefinedIsAnErrorOnItsLine() {
        let e = error("\n\n\n{{ message.a.b }}", ["message": ["x": 1]])
        XCTAssertEqual(e?.message, "'dict object' has no attribute 'a'")
        XCTAssertEqual(e?.line, 4)
    }

    func testCallingUndefinedIsAnError() {
        XCTAssertEqual(error("{{ nope() }}")?.message, "'nope' is undefined")
    }

    func testUnknownFilterIsReported() {
        XCTAssert(error("\n{{ 'x' | frob }}")?.message.contains("frob") == true)
    }

    func testContextDropsNullKeysAndAliasesReasoning() throws {
        let ctx = ChatTemplateContext(
            messages: [["role": "assistant", "content": "hi", "tool_calls": nil, "reasoning": "because"]],
            addGenerationPrompt: true, specialTokens: ["bos_token": "<s>", "eos_token": "</s>"],
            extra: ["eos_token": "<override>"])
        let t = try Template("{{ bos_token }}{{ eos_token }}{% for m in messages %}{{ m | tojson }}{{ 'tool_calls' in m }}{% endfor %}{{ tools is none }}{{ add_generation_prompt }}")
        XCTAssertEqual(try t.render(try ctx.values()),
                       "<s><override>{\"thinking\": \"because\", \"role\": \"assistant\", \"content\": \"hi\", \"reasoning\": \"because\", \"reasoning_content\": \"because\"}FalseTrueTrue")
    }

    func testGenerationSpansAreUTF8ByteOffsets() throws {
        let t = try Template("é{% generation %}👍a{% endgeneration %}b")
        let r = try t.renderWithGenerationSpans([:])
        XCTAssertEqual(r.text, "é👍ab")
        XCTAssertEqual(r.generationSpans, [2..<7])
    }

    func testTypicalChatRendersWellUnderAMillisecond() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/real_templates.json")
        let root = try JSON.parse(String(decoding: try Data(contentsOf: url), as: UTF8.self))
        guard let c = root["cases"]?.arrayValue?.first(where: { $0["name"]?.stringValue == "qwen25/system_multi_turn/agp=True" }),
              let source = c["template"]?.stringValue, let ctxObj = c["context"]?.objectValue else {
            return XCTFail("qwen25 fixture missing; rerun scripts/make_jinja_fixtures.py")
        }
        var ctx: [String: Value] = [:]
        for (k, v) in ctxObj { ctx[k] = v }
        let t = try Template(source)
        let n = 200
        let start = Date()
        for _ in 0..<n { _ = try t.render(ctx) }
        let perRender = Date().timeIntervalSince(start) / Double(n)
        // Debug builds are several times slower than release; the bound leaves room for that on a busy machine.
        XCTAssertLessThan(perRender, 0.005, "render took \(perRender * 1e3) ms")
        print("qwen25 render: \(String(format: "%.3f", perRender * 1e3)) ms/render (debug build)")
    }
}

final class HostileInputTests: XCTestCase {
    func testHugeNumbersAndRepetitionsAreErrorsNotCrashes() throws {
        XCTAssertNoThrow(try Template("{{ 1e300 | int }}").render([:]))
        XCTAssertEqual(try Template("{{ 2 ** 62 }}").render([:]), "4611686018427387904")
        XCTAssertThrowsError(try Template("{{ 2 ** 70 }}").render([:]))
        XCTAssertThrowsError(try Template("{{ 9223372036854775807 + 1 }}").render([:]))
        XCTAssertThrowsError(try Template("{{ 'ab' * 10000000000 }}").render([:]))
        XCTAssertThrowsError(try Template("{{ range(10000000000) }}").render([:]))
    }

    func testMalformedTemplatesThrowInsteadOfCrashing() {
        for source in ["{{", "{%", "{% if %}", "{{ ] }}", "{{ a[ }}", "{% for %}", "{% set %}", "{{ 'x' | }}", "{# open",
                       "{% raw %}x", "{% macro m( %}", "{{ x is }}", "{% endif %}", "{{ (1, }}", "{{ {1: } }}"] {
            XCTAssertThrowsError(try Template(source).render([:]), source)
        }
    }
}
