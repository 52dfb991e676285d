import Foundation
import SFTRunKit
import TestSupport
import Values
import XCTest

/// Greedy generation against transformers' generate(do_sample=False) (scripts/make_generate_fixtures.py), and
/// seeded sampling being reproducible.
final class GenerationTests: XCTestCase {
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
}
