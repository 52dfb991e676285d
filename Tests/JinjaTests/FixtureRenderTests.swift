import Foundation
import TestSupport
import Values
import XCTest

@testable import Jinja

/// Renders every case that scripts/make_jinja_fixtures.py produced with transformers 5.24 / jinja2 3.1.6 and
/// requires byte-identical output, identical generation spans, or the same error message.
final class FixtureRenderTests: XCTestCase {
    struct Case {
        var name: String
        var template: String
        var context: [String: Value]
        var expected: String?
        var spans: [Range<Int>]?
        var error: String?
        /// Set for jinja2 syntax errors: only the line must match (the wording is ours, with a fix).
        var errorLine: Int?
    }

    static func loadCases(_ file: String) throws -> [Case] {
        let url = TestSupport.packageRoot.appendingPathComponent("Tests/JinjaTests/Fixtures/\(file)")
        let root = try JSON.parse(String(decoding: try Data(contentsOf: url), as: UTF8.self))
        return (root["cases"]?.arrayValue ?? []).map { c in
            var ctx: [String: Value] = [:]
            for (k, v) in c["context"]?.objectValue ?? [:] { ctx[k] = v }
            let spans = c["spans"]?.arrayValue?.map { s in (s[0]?.intValue ?? 0)..<(s[1]?.intValue ?? 0) }
            return Case(name: c["name"]?.stringValue ?? "?", template: c["template"]?.stringValue ?? "", context: ctx,
                        expected: c["expected"]?.stringValue, spans: spans, error: c["error"]?.stringValue,
                        errorLine: c["error_line"]?.intValue)
        }
    }

    /// Returns a description of each failing case (empty when all match).
    static func check(_ cases: [Case]) -> [String] {
        var failures: [String] = []
        for c in cases {
            do {
                let t = try Template(c.template)
                let (text, spans) = try t.renderWithGenerationSpans(c.context)
                if let e = c.error {
                    failures.append("\(c.name): expected error \(e.debugDescription), rendered \(text.debugDescription)")
                } else if text != c.expected {
                    failures.append("\(c.name):\n  expected \(c.expected.debugDescription)\n  got      \(text.debugDescription)")
                } else if let want = c.spans, want != spans {
                    failures.append("\(c.name): spans expected \(want), got \(spans)")
                }
            } catch let err as JinjaError {
                if let line = c.errorLine {
                    if err.line != line { failures.append("\(c.name): syntax error expected on line \(line), got \(err)") }
                } else if c.error != err.message {
                    failures.append("\(c.name): expected \(c.error.map { "error " + $0.debugDescription } ?? "output"), got error \(err.message.debugDescription) (line \(err.line.map(String.init) ?? "-"))")
                }
            } catch {
                failures.append("\(c.name): unexpected error type \(error)")
            }
        }
        return failures
    }

    func testRealChatTemplatesRenderExactlyAsTransformers() throws {
        let cases = try Self.loadCases("real_templates.json")
        XCTAssertGreaterThan(cases.count, 100)
        let failures = Self.check(cases)
        XCTAssert(failures.isEmpty, "\(failures.count)/\(cases.count) cases differ:\n" + failures.joined(separator: "\n"))
    }

    func testFeatureProbesRenderExactlyAsJinja2() throws {
        let cases = try Self.loadCases("probes.json")
        XCTAssertGreaterThan(cases.count, 50)
        let failures = Self.check(cases)
        XCTAssert(failures.isEmpty, "\(failures.count)/\(cases.count) cases differ:\n" + failures.joined(separator: "\n"))
    }
}
