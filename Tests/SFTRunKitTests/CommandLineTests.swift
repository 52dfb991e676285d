import XCTest
import TestSupport
import Values

/// Runs the built `sftrun` binary, to check what only the process shows: exit statuses and usage errors.
final class CommandLineTests: XCTestCase {
    func run(_ args: [String], environment: [String: String] = [:], stdin: String? = nil) throws -> (status: Int32, out: String, err: String) {
        // The test bundle sits next to the products of the same build (`swift test` builds the executable too).
        var folder = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0]).deletingLastPathComponent()
        if folder.lastPathComponent.hasSuffix(".xctest") { folder.deleteLastPathComponent() }
        let binary = folder.appendingPathComponent("sftrun")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            struct Missing: Error, CustomStringConvertible { var description: String }
            throw Missing(description: "sftrun binary not found at \(binary.path); build with `swift build` first")
        }
        let p = Process()
        p.executableURL = binary
        p.arguments = args
        if !environment.isEmpty { p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
        p.currentDirectoryURL = TestSupport.packageRoot
        let o = Pipe(), e = Pipe()
        p.standardOutput = o
        p.standardError = e
        let input = Pipe()
        if stdin != nil { p.standardInput = input }
        try p.run()
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        }
        let out = String(decoding: o.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let err = String(decoding: e.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        return (p.terminationStatus, out, err)
    }

    func testUsageErrorsExitWithTwo() throws {
        let r = try run(["validate"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.err.contains("Missing expected argument"), r.err)
        XCTAssertEqual(try run(["validate", "--format", "xml", "recipes/base.yaml"]).status, 2)
    }

    func testValidateAllShippedRecipesExitsZero() throws {
        let recipes = try FileManager.default.contentsOfDirectory(atPath: TestSupport.packageRoot.appendingPathComponent("recipes").path)
            .filter { $0.hasSuffix(".yaml") }.sorted().map { "recipes/" + $0 }
        let r = try run(["validate"] + recipes)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(r.out.split(separator: "\n").count, recipes.count)
    }

    func testBareRecipeArgumentMeansTrain() throws {
        let r = try run(["recipes/opt350m-imdb.yaml"])
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.err.contains("training is not available in this build"), r.err)
    }

    /// Starts the fake Hub from the HubClient tests (Python standard library only) and returns its port.
    func startFakeHub() throws -> (Process, Int) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", TestSupport.packageRoot.appendingPathComponent("Tests/HubClientTests/Fixtures/fake_hub.py").path]
        let o = Pipe()
        p.standardOutput = o
        try p.run()
        var line = Data()
        while !line.contains(0x0A) {
            let chunk = o.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").first ?? "") else {
            p.terminate()
            throw XCTSkip("fake Hub did not start")
        }
        return (p, port)
    }

    func testDownloadAndCacheCommandsAgainstTheFakeHub() throws {
        let (server, port) = try startFakeHub()
        defer { server.terminate() }
        let cache = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: cache) }
        let env = ["HF_ENDPOINT": "http://127.0.0.1:\(port)", "HF_HUB_CACHE": cache.path, "HF_TOKEN": "hf_secret"]
        let one = try run(["download", "org/tiny-model", "config.json"], environment: env)
        XCTAssertEqual(one.status, 0, one.err)
        let snapshot = one.out.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertTrue(snapshot.hasSuffix("models--org--tiny-model/snapshots/" + String(repeating: "a", count: 39) + "1"), snapshot)
        XCTAssertTrue(FileManager.default.fileExists(atPath: snapshot + "/config.json"))
        let data = try run(["download", "org/tiny-data", "--repo-type", "dataset", "--include", "data/*"], environment: env)
        XCTAssertEqual(data.status, 0, data.err)
        XCTAssertTrue(FileManager.default.fileExists(atPath: data.out.trimmingCharacters(in: .whitespacesAndNewlines) + "/data/train.jsonl"))
        let missing = try run(["download", "org/tiny-model", "--include", "nope.txt"], environment: env)
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.err.contains("has no file \"nope.txt\""), missing.err)
        XCTAssertFalse(missing.err.contains("hf_secret"))
        let absent = try run(["download", "org/does-not-exist", "config.json"], environment: env)
        XCTAssertEqual(absent.status, 1)
        XCTAssertFalse(absent.err.isEmpty)
        let list = try run(["cache", "ls"], environment: env)
        XCTAssertTrue(list.out.contains("org/tiny-model") && list.out.contains("org/tiny-data"), list.out)
        XCTAssertEqual(try run(["cache", "rm", "org/tiny-model"], environment: env).status, 0)
        XCTAssertFalse(try run(["cache", "ls"], environment: env).out.contains("org/tiny-model"))
        let gone = try run(["cache", "rm", "org/tiny-model"], environment: env)
        XCTAssertEqual(gone.status, 1)
        XCTAssertTrue(gone.err.contains("is not in the cache"), gone.err)
        let offline = try run(["download", "org/tiny-model", "config.json", "--offline"], environment: env)
        XCTAssertEqual(offline.status, 1)
        XCTAssertTrue(offline.err.contains("org/tiny-model"), offline.err)
    }

    /// `sftrun tokenize` against transformers' apply_chat_template and encode (scripts/make_tokenize_cli_fixtures.py).
    func testTokenizeMatchesTransformersForTextAndChats() throws {
        let fixture = try JSON.parse(String(contentsOf: TestSupport.packageRoot.appendingPathComponent("Tests/SFTRunKitTests/Fixtures/tokenize_cli.json"), encoding: .utf8))
        let dir = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: TestSupport.packageRoot.appendingPathComponent("Tests/TokenizationTests/Fixtures/smollm2/tokenizer.json"),
                                         to: dir.appendingPathComponent("tokenizer.json"))
        let config: Value = ["bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>", "unk_token": "<|endoftext|>",
                             "chat_template": fixture["chat_template"]!]
        try JSON.serialize(config).write(to: dir.appendingPathComponent("tokenizer_config.json"), atomically: true, encoding: .utf8)
        for chat in fixture["chats"]!.arrayValue! {
            let gen = chat["add_generation_prompt"]!.boolValue!
            let r = try run(["tokenize", "--tokenizer", dir.path, "--chat-template"] + (gen ? ["--add-generation-prompt"] : []),
                            stdin: JSON.serialize(["messages": chat["messages"]!]) + "\n")
            XCTAssertEqual(r.status, 0, r.err)
            let line = try JSON.parse(r.out)
            XCTAssertEqual(line["text"], chat["text"])
            XCTAssertEqual(line["ids"], chat["ids"])
            if !gen {
                let ids = line["ids"]!.arrayValue!.map { $0.intValue! }
                let mask = line["assistant_mask"]!.arrayValue!.map { $0.intValue! }
                let assistant = zip(ids, mask).filter { $0.1 == 1 }.map(\.0)
                let last = chat["messages"]!.arrayValue!.last!["content"]!.stringValue!
                let decoded = try run(["tokenize", "--tokenizer", dir.path, "--decode"], stdin: JSON.serialize(["ids": .array(assistant.map { .int($0) })]) + "\n")
                XCTAssertTrue(try JSON.parse(decoded.out)["text"]!.stringValue!.hasSuffix(last + "<|im_end|>\n"), decoded.out)
            }
        }
        let input = fixture["texts"]!.arrayValue!.map { JSON.serialize(["text": $0["text"]!]) }.joined(separator: "\n") + "\n"
        let r = try run(["tokenize", "--tokenizer", dir.path, "--decode"], stdin: input)
        XCTAssertEqual(r.status, 0, r.err)
        for (line, expected) in zip(r.out.split(separator: "\n"), fixture["texts"]!.arrayValue!) {
            let v = try JSON.parse(String(line))
            XCTAssertEqual(v["ids"], expected["ids"])
            XCTAssertEqual(v["decoded"], expected["decoded"])
        }
    }

    func testTokenizeReportsBadLinesInPlaceAndExitsOne() throws {
        let r = try run(["tokenize", "--tokenizer", TestSupport.packageRoot.appendingPathComponent("Tests/TokenizationTests/Fixtures/smollm2").path],
                        stdin: "{\"text\": \"ok\"}\nnot json\n{\"text\": 3}\n")
        XCTAssertEqual(r.status, 1)
        let lines = r.out.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 3)
        XCTAssertTrue(lines[0].hasPrefix("{\"ids\": ["), lines[0])
        XCTAssertTrue(lines[1].contains("\"error\": \"malformed JSON"), lines[1])
        XCTAssertEqual(lines[2], #"{"error": "\"text\" must be a string, got integer"}"#)
        let missing = try run(["tokenize", "--tokenizer", "/nonexistent"], stdin: "")
        XCTAssertEqual(missing.status, 1)
        XCTAssertFalse(missing.err.isEmpty)
    }
}
