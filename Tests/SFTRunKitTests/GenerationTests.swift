import Foundation
import SFTRunKit
import TestSupport
import Values
import XCTest

/// Greedy generation against transformers' generate(do_sample=False) (scripts/make_generate_fixtures.py), through
/// the KV cache; seeded sampling being reproducible; chat sessions that keep their history and reuse the cache.
final class GenerationTests: XCTestCase {
    static let fixtures = TestSupport.packageRoot.appendingPathComponent("Tests/SFTRunKitTests/Fixtures")

    /// The generation fixture with a small chat template added, in a fresh folder.
    static func chatModel() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sftrun-chat-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let src = fixtures.appendingPathComponent("tiny-llama-gen")
        for f in ["config.json", "model.safetensors", "tokenizer.json"] {
            try FileManager.default.copyItem(at: src.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        let template = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}</s>{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
        let config: Value = ["bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "chat_template": .string(template)]
        try Data(JSON.serialize(config).utf8).write(to: dir.appendingPathComponent("tokenizer_config.json"))
        return dir
    }

    func testGreedyGenerationMatchesTransformers() throws {
        let root = TestSupport.packageRoot.appendingPathComponent("Tests/SFTRunKitTests/Fixtures")
        let g = try Generator.load(model: root.appendingPathComponent("tiny-llama-gen").path, adapter: nil)
        let cases = try JSON.parse(bytes: [UInt8](try Data(contentsOf: root.appendingPathComponent("generate.json")))).arrayValue!
        for c in cases {
            let prompt = try g.promptIds(text: c["prompt"]!.stringValue!, messages: nil)
            XCTAssertEqual(prompt, c["prompt_ids"]!.arrayValue!.map { $0.intValue! })
            var o = Generator.Options()
            o.maxNewTokens = 12
            var streamed = ""
            let out = g.generate(prompt, o) { streamed += $0 }
            XCTAssertEqual(out, c["new_ids"]!.arrayValue!.map { $0.intValue! }, c["prompt"]!.stringValue!)
            XCTAssertEqual(streamed, c["text"]!.stringValue!)
        }
        var o = Generator.Options()
        o.temperature = 0.8; o.topK = 50; o.topP = 0.9; o.seed = 3; o.maxNewTokens = 8
        let p = try g.promptIds(text: "The quick brown", messages: nil)
        XCTAssertEqual(g.generate(p, o), g.generate(p, o), "same seed, same sample")
    }

    /// Turns share one cache; each reply equals a fresh generation from the whole rendered conversation, and the
    /// second prompt carries the first turn.
    func testChatSessionKeepsHistoryAndReusesTheCache() throws {
        let dir = try Self.chatModel()
        defer { try? FileManager.default.removeItem(at: dir) }
        let g = try Generator.load(model: dir.path, adapter: nil)
        var o = Generator.Options()
        o.maxNewTokens = 6
        let session = try ChatSession(generator: g, options: o, system: "Be brief.")
        var lines = ["Hello there", "/reset", "What next", "And then"][...]
        var out = "", notes: [String] = [], prompts: [String] = []
        try session.run(readLine: { lines.popFirst() }, write: { out += $0 }, note: { notes.append($0) }, showPrompt: { prompts.append($0) })
        XCTAssertEqual(prompts.count, 3)
        XCTAssertEqual(notes, ["(history cleared)"])
        XCTAssertEqual(prompts[0], "<|system|>Be brief.</s><|user|>Hello there</s><|assistant|>")
        XCTAssertEqual(prompts[1], "<|system|>Be brief.</s><|user|>What next</s><|assistant|>", "reset keeps only the system message")
        let firstReply = try XCTUnwrap(session.messages[2]["content"]?.stringValue)
        XCTAssertTrue(prompts[2].hasPrefix(prompts[1] + firstReply + "</s><|user|>And then</s>"), prompts[2])
        let fresh = prompts.map { g.tokenizer.decode(g.generate(g.tokenizer.encode($0, addSpecialTokens: false).ids, o), skipSpecialTokens: true) }
        XCTAssertEqual(out, fresh.map { $0 + "\n" }.joined(), "each cached turn equals a fresh generation")
        XCTAssertEqual(session.messages.count, 5)
    }

    func testChatNeedsATemplate() throws {
        let g = try Generator.load(model: Self.fixtures.appendingPathComponent("tiny-llama-gen").path, adapter: nil)
        XCTAssertThrowsError(try ChatSession(generator: g, options: Generator.Options(), system: nil)) {
            XCTAssertTrue("\($0)".contains("no chat template"), "\($0)")
        }
    }

    func testGenerateBenchmarkMakesTheGreedyTokens() throws {
        let g = try Generator.load(model: Self.fixtures.appendingPathComponent("tiny-llama-gen").path, adapter: nil)
        let r = try GenerationBenchmark.run(g, prompt: "The quick brown", maxNewTokens: 12)
        let cases = try JSON.parse(bytes: [UInt8](try Data(contentsOf: Self.fixtures.appendingPathComponent("generate.json")))).arrayValue!
        let want = cases[0]["new_ids"]!.arrayValue!.map { $0.intValue! }
        XCTAssertEqual(Array(r.newIds.prefix(want.count)), want)
        XCTAssertEqual(r.newTokens, 12)
        let line = try JSON.parse(r.json(model: "tiny", threads: 1))
        XCTAssertEqual(line["prompt_tokens"]?.intValue, cases[0]["prompt_ids"]!.arrayValue!.count)
        XCTAssertNotNil(line["decode_tokens_per_second"]?.doubleValue)
    }
}
