import XCTest
import Values
import TestSupport
@testable import Recipes

final class RecipeResolverTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws { dir = try TestSupport.makeTemporaryDirectory() }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func write(_ name: String, _ text: String) -> String {
        let path = dir.appendingPathComponent(name).path
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func errors(_ path: String, overrides: [String] = []) -> [String] {
        do { _ = try RecipeResolver.resolve(path: path, overrides: overrides); return [] } catch let e as RecipeError {
            return e.diagnostics.filter { $0.severity == .error }.map(\.description)
        } catch { return ["\(error)"] }
    }

    static let minimal = "model:\n  name_or_path: m\ndata:\n  train:\n    path: d.jsonl\n"

    func testFiveMistakesAreAllReportedWithLineAndColumn() {
        let p = write("bad.yaml", """
            model:
              name_or_path: facebook/opt-350m
              dtype: float23
            data:
              train: {path: stanfordnlp/imdb}
            training:
              learning_rate: -1
              learnin_rate: 3e-5
              per_device_train_batch_size: "8"
              lr_scheduler_type: cosin
            """)
        XCTAssertEqual(errors(p), [
            "\(p):3:10: model.dtype: must be one of float32, bfloat16, float16; got string \"float23\" (did you mean \"float32\"?)",
            "\(p):7:18: training.learning_rate: must be > 0, got -1",
            "\(p):8:3: training.learnin_rate: unknown key \"learnin_rate\"; did you mean \"learning_rate\"?",
            "\(p):9:32: training.per_device_train_batch_size: must be an integer, got string \"8\"",
            "\(p):10:22: training.lr_scheduler_type: must be one of linear, cosine, cosine_with_min_lr, constant, constant_with_warmup, polynomial; got string \"cosin\" (did you mean \"cosine\"?)",
        ])
    }

    func testDefaultsAreFilledAndMarkedAsDefaults() throws {
        let r = try RecipeResolver.resolve(path: write("r.yaml", Self.minimal))
        XCTAssertEqual(r.value["training"]?["learning_rate"], 2e-5)
        XCTAssertEqual(r.value["data"]?["train"]?["split"], "train")
        XCTAssertEqual(r.recipe.training.seed, 42)
        XCTAssertNil(r.recipe.lora)
        XCTAssertTrue(r.annotatedYAML().contains("learning_rate: 2.0e-05  # default"), r.annotatedYAML())
        XCTAssertTrue(r.annotatedYAML().contains("name_or_path: m  # \(dir.path)/r.yaml:2"), r.annotatedYAML())
    }

    func testOverridesAreParsedAsYAMLAndValidatedNamingTheOverride() throws {
        let p = write("r.yaml", Self.minimal)
        let r = try RecipeResolver.resolve(path: p, overrides: ["training.learning_rate=3e-5", "peft.r=32", "peft.target_modules=[q_proj, v_proj]"])
        XCTAssertEqual(r.recipe.training.learningRate, 3e-5)
        XCTAssertEqual(r.recipe.lora?.r, 32)
        XCTAssertEqual(r.recipe.lora?.targetModules, .names(["q_proj", "v_proj"]))
        XCTAssertTrue(r.annotatedYAML().contains("learning_rate: 3.0e-05  # --set training.learning_rate=3e-5"))
        XCTAssertEqual(errors(p, overrides: ["training.learnin_rate=1"]),
                       ["--set training.learnin_rate=1: training.learnin_rate: unknown key \"learnin_rate\"; did you mean \"learning_rate\"?"])
        XCTAssertEqual(errors(p, overrides: ["training.seed=abc"]), ["--set training.seed=abc: training.seed: must be an integer, got string \"abc\""])
        XCTAssertEqual(errors(p, overrides: ["model.name_or_path.x=1"]), ["--set model.name_or_path.x=1: model.name_or_path.x: cannot set: model.name_or_path is not a mapping"])
        XCTAssertEqual(errors(p, overrides: ["nonsense"]), ["--set nonsense: expected KEY=VALUE, e.g. --set training.learning_rate=3e-5"])
    }

    func testExtendsDeepMergesAndReplacesLists() throws {
        _ = write("base.yaml", "model:\n  name_or_path: base\n  dtype: bfloat16\npeft:\n  target_modules: [a, b]\n" + "data:\n  train:\n    path: d.jsonl\n")
        let p = write("child.yaml", "extends: base.yaml\nmodel:\n  name_or_path: child\npeft:\n  target_modules: [c]\n")
        let r = try RecipeResolver.resolve(path: p)
        XCTAssertEqual(r.recipe.model.nameOrPath, "child")
        XCTAssertEqual(r.recipe.model.dtype, "bfloat16")
        XCTAssertEqual(r.recipe.lora?.targetModules, .names(["c"]))
        XCTAssertEqual(r.document.origins[["model", "dtype"]], .file(SourceMark(file: dir.path + "/base.yaml", line: 3, column: 10, startOffset: 37, endOffset: 45)))
    }

    func testExtendsCyclesAndMissingBasesAreErrors() {
        _ = write("a.yaml", "extends: b.yaml\n")
        let b = write("b.yaml", "extends: a.yaml\n")
        XCTAssertEqual(errors(b).count, 1)
        XCTAssertTrue(errors(b)[0].contains("`extends` forms a cycle: b.yaml → a.yaml → b.yaml"), errors(b)[0])
        let c = write("c.yaml", "extends: nowhere.yaml\n")
        XCTAssertTrue(errors(c)[0].contains("\(c):1:10: extends: base recipe \"nowhere.yaml\" not found"), errors(c)[0])
    }

    func testCrossFieldRulesCarryTheFix() {
        let p = write("q.yaml", Self.minimal + "quantization:\n  load_in_4bit: true\n")
        XCTAssertEqual(errors(p), ["\(p):7:17: quantization.load_in_4bit: quantized base weights are frozen, so a full fine-tune cannot train them; add a `peft:` section (e.g. `peft: {method: lora, r: 16}`) or remove the quantization"])
        let t = write("t.yaml", Self.minimal + "  format: text\n  completion_only_loss: true\n")
        XCTAssertTrue(errors(t)[0].contains("data.completion_only_loss: needs prompt/completion data"), errors(t)[0])
        let w = write("w.yaml", Self.minimal + "  packing: true\n  packing_strategy: wrapped\n  response_template: '### Answer:'\n")
        XCTAssertTrue(errors(w)[0].contains("cannot be used with packing_strategy: wrapped"), errors(w)[0])
        let e = write("e.yaml", Self.minimal + "training:\n  eval_strategy: steps\n")
        XCTAssertTrue(errors(e)[0].contains("evaluation needs data"), errors(e)[0])
        let c = write("c.yaml", Self.minimal + "training:\n  lr_scheduler_type: cosine_with_min_lr\n")
        XCTAssertTrue(errors(c)[0].contains("needs training.lr_scheduler_kwargs.min_lr"), errors(c)[0])
    }

    func testLegacyNamesAreReadWithANoteAndBothSpellingsIsAnError() throws {
        let p = write("l.yaml", Self.minimal + "  max_seq_length: 256\n  packing_strategy: ffd\ntokenizer:\n  setup_chat_format: true\ntraining:\n  evaluation_strategy: 'no'\n")
        let r = try RecipeResolver.resolve(path: p)
        XCTAssertEqual(r.recipe.data.maxLength, 256)
        XCTAssertEqual(r.recipe.data.packingStrategy, "bfd")
        XCTAssertEqual(r.recipe.tokenizer.chatTemplate, "chatml")
        XCTAssertEqual(r.diagnostics.filter { $0.severity == .note }.count, 4)
        XCTAssertTrue(r.diagnostics[0].description.hasPrefix("\(p):6:3: note: data.max_seq_length: read as data.max_length"), r.diagnostics[0].description)
        let both = write("b.yaml", Self.minimal + "  max_seq_length: 256\n  max_length: 128\n")
        XCTAssertTrue(errors(both)[0].contains("both data.max_seq_length and data.max_length are set"), errors(both)[0])
    }

    func testYes11BooleansWarnNamingTheLine() throws {
        let r = try RecipeResolver.resolve(path: write("y.yaml", Self.minimal + "  packing: on\n"))
        XCTAssertTrue(r.recipe.data.packing)
        XCTAssertEqual(r.diagnostics.map(\.description), ["\(dir.path)/y.yaml:6:12: warning: data.packing: \"on\" is a string in YAML 1.2; read as true here — write true"])
    }

    func testSweepExpandsTheCartesianProductWithStableNames() throws {
        let p = write("s.yaml", Self.minimal + "training:\n  output_dir: out\nsweep:\n  training.learning_rate: [1.0e-5, 3.0e-5]\n  peft.r: [8, 16]\n")
        var doc = try RecipeDocument.load(path: p)
        try doc.applyOverrides([])
        let sweep = try Sweep.expand(doc, grid: [try Sweep.parseGrid("training.seed=1,2")])
        XCTAssertEqual(sweep.runs.map(\.name), [
            "lr=1e-05,r=8,seed=1", "lr=1e-05,r=8,seed=2", "lr=1e-05,r=16,seed=1", "lr=1e-05,r=16,seed=2",
            "lr=3e-05,r=8,seed=1", "lr=3e-05,r=8,seed=2", "lr=3e-05,r=16,seed=1", "lr=3e-05,r=16,seed=2"])
        XCTAssertEqual(sweep.runs[6].recipe.recipe.training.learningRate, 3e-5)
        XCTAssertEqual(sweep.runs[6].recipe.recipe.lora?.r, 16)
        XCTAssertEqual(sweep.runs[6].recipe.recipe.training.outputDir, "out/lr=3e-05,r=16,seed=1")
        XCTAssertNil(sweep.runs[0].recipe.value["sweep"])
    }

    func testSweepRejectsUnknownKeysAndBadValues() throws {
        let p = write("s.yaml", Self.minimal + "sweep:\n  training.learnin_rate: [1]\n")
        XCTAssertTrue(errors(p).contains { $0.contains("sweep.training.learnin_rate: \"training.learnin_rate\" is not a recipe key that can be swept") }, "\(errors(p))")
        let q = write("q.yaml", Self.minimal + "sweep:\n  training.learning_rate: [1.0e-5, -1]\n")
        var doc = try RecipeDocument.load(path: q)
        try doc.applyOverrides([])
        XCTAssertThrowsError(try Sweep.expand(doc, grid: [])) { error in
            XCTAssertTrue("\(error)".contains("in sweep run lr=-1: must be > 0, got -1"), "\(error)")
        }
    }

    func testMigrateRewritesKeysKeepingComments() throws {
        let text = """
            # my recipe
            model:
              name_or_path: m  # the model
              torch_dtype: bfloat16  # storage
            data:
              train: {path: d.jsonl}
              max_seq_length: 512  # length
              packing_strategy: ffd
            training:
              max_seq_length: 1
            """
        let result = try Migration.migrate(text: text, file: "x.yaml")
        XCTAssertTrue(result.text.contains("  dtype: bfloat16  # storage"), result.text)
        XCTAssertTrue(result.text.contains("  max_length: 512  # length"), result.text)
        XCTAssertTrue(result.text.contains("  packing_strategy: bfd"), result.text)
        XCTAssertTrue(result.text.hasPrefix("# my recipe\n"))
        XCTAssertTrue(result.changes.contains { $0.contains("training.max_seq_length left as is") }, "\(result.changes)")
        let migrated = try RecipeDocument.parse(text: result.text, file: "x.yaml")
        XCTAssertEqual(migrated.value["model"]?["dtype"], "bfloat16")
    }

    func testMigrateMovesKeysAcrossSections() throws {
        let result = try Migration.migrate(text: "model:\n  name_or_path: m\ndata:\n  train: {path: d}\ntraining:\n  packing: true\n", file: "x.yaml")
        let doc = try YAML.parse(result.text)
        XCTAssertEqual(doc.value["data"]?["packing"], true, result.text)
        XCTAssertNil(doc.value["training"]?["packing"], result.text)
    }

    func testEmbeddedSchemaMatchesSchemasFolder() throws {
        let file = try String(contentsOf: TestSupport.packageRoot.appendingPathComponent("schemas/recipe.schema.json"), encoding: .utf8)
        XCTAssertEqual(file.trimmingCharacters(in: .whitespacesAndNewlines), RecipeSchemaText.json.trimmingCharacters(in: .whitespacesAndNewlines),
                       "run scripts/embed-schema after editing schemas/recipe.schema.json")
    }

    func testEverySchemaPropertyHasADescription() {
        func walk(_ s: Value, _ path: String) {
            for (k, p) in s["properties"]?.objectValue ?? [:] {
                XCTAssertNotNil(p["description"], "\(path).\(k) has no description")
                walk(RecipeResolver.schema.resolve(p), "\(path).\(k)")
                for alt in p["oneOf"]?.arrayValue ?? [] { walk(RecipeResolver.schema.resolve(alt), "\(path).\(k)") }
            }
            XCTAssertFalse(s["properties"] != nil && s["additionalProperties"] != .bool(false), "\(path) allows unknown keys")
        }
        walk(RecipeResolver.schema.root, "")
    }

    func testEveryShippedRecipeIsValid() throws {
        let recipes = TestSupport.packageRoot.appendingPathComponent("recipes")
        let files = FileManager.default.enumerator(atPath: recipes.path)!.compactMap { $0 as? String }.filter { $0.hasSuffix(".yaml") }
        XCTAssertGreaterThanOrEqual(files.count, 12)
        for f in files {
            let path = recipes.appendingPathComponent(f).path
            XCTAssertEqual(errors(path), [], f)
            let text = try String(contentsOfFile: path, encoding: .utf8)
            XCTAssertTrue(text.hasPrefix("# yaml-language-server: $schema=../schemas/recipe.schema.json\n"), "\(f) lacks the schema comment")
        }
    }
}
