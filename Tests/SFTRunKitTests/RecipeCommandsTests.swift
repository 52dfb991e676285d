import XCTest
import TestSupport
@testable import SFTRunKit
import Recipes
import Values

final class RecipeCommandsTests: XCTestCase {
    var dir: URL!
    var stdout: [String] = []
    var stderr: [String] = []

    override func setUpWithError() throws {
        dir = try TestSupport.makeTemporaryDirectory()
        stdout = []
        stderr = []
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    var commands: RecipeCommands { RecipeCommands(out: { self.stdout.append($0) }, err: { self.stderr.append($0) }) }

    func write(_ name: String, _ text: String) -> String {
        let path = dir.appendingPathComponent(name).path
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let minimal = "model:\n  name_or_path: m\ndata:\n  train:\n    path: d.jsonl\n"

    func testValidateExitsZeroWhenAllValidAndOneWhenAnyInvalid() {
        let good = write("good.yaml", Self.minimal)
        let bad = write("bad.yaml", Self.minimal + "training:\n  seed: -3\n")
        XCTAssertEqual(commands.validate(paths: [good], overrides: [], json: false), 0)
        XCTAssertEqual(stdout, ["\(good): ok"])
        XCTAssertEqual(commands.validate(paths: [good, bad], overrides: [], json: false), 1)
        XCTAssertEqual(stderr, ["\(bad):7:9: training.seed: must be >= 0, got -3"])
        XCTAssertEqual(stdout.last, "\(bad): 1 error")
    }

    func testValidateJSONIsMachineReadable() throws {
        let bad = write("bad.yaml", Self.minimal + "training:\n  seed: -3\n")
        XCTAssertEqual(commands.validate(paths: [bad], overrides: [], json: true), 1)
        let parsed = try JSON.parse(stdout.joined())
        XCTAssertEqual(parsed[0]?["line"], 7)
        XCTAssertEqual(parsed[0]?["column"], 9)
        XCTAssertEqual(parsed[0]?["path"], "training.seed")
        XCTAssertEqual(parsed[0]?["severity"], "error")
    }

    func testMissingRecipeFileSaysSo() {
        XCTAssertEqual(commands.validate(paths: [dir.path + "/nope.yaml"], overrides: [], json: false), 1)
        XCTAssertTrue(stderr[0].contains("nope.yaml: cannot read the recipe"), stderr[0])
    }

    func testTrainReportsTheExecutorsFailureAndItsExitStatus() {
        let good = write("good.yaml", Self.minimal + "training:\n  learning_rate: 1.0e-3\n")
        XCTAssertEqual(commands.train(path: good, overrides: [], executor: FakeExecutor()), 1)
        XCTAssertEqual(stderr.last, "diverged")
        XCTAssertEqual(commands.train(path: good, overrides: ["training.learning_rate=1.0e-5"], executor: FakeExecutor()), 0)
    }

    struct FakeExecutor: RunExecutor {
        func run(_ recipe: ResolvedRecipe) -> RunResult {
            if recipe.recipe.training.learningRate > 2e-5 { return .failed("diverged") }
            return RunResult(succeeded: true, exitCode: 0, message: nil, trainLoss: 1.5, evalLoss: nil)
        }
    }

    func testSweepRunsEachCombinationRecordsFailuresAndWritesReports() throws {
        let out = dir.appendingPathComponent("out").path
        let p = write("s.yaml", Self.minimal + "training:\n  output_dir: \(out)\nsweep:\n  training.learning_rate: [1.0e-5, 3.0e-5]\n")
        XCTAssertEqual(commands.sweep(path: p, overrides: [], grid: ["peft.r=8,16"], dryRun: false, executor: FakeExecutor()), 1)
        let csv = try String(contentsOfFile: out + "/sweep.csv", encoding: .utf8)
        XCTAssertEqual(csv, """
            run,training.learning_rate,peft.r,status,train_loss,eval_loss,output_dir
            "lr=1e-05,r=8",1e-05,8,ok,1.5,,\(out)/lr=1e-05,r=8
            "lr=1e-05,r=16",1e-05,16,ok,1.5,,\(out)/lr=1e-05,r=16
            "lr=3e-05,r=8",3e-05,8,failed,,,\(out)/lr=3e-05,r=8
            "lr=3e-05,r=16",3e-05,16,failed,,,\(out)/lr=3e-05,r=16

            """.replacingOccurrences(of: ",\(out)/lr=1e-05,r=8\n", with: ",\"\(out)/lr=1e-05,r=8\"\n")
               .replacingOccurrences(of: ",\(out)/lr=1e-05,r=16\n", with: ",\"\(out)/lr=1e-05,r=16\"\n")
               .replacingOccurrences(of: ",\(out)/lr=3e-05,r=8\n", with: ",\"\(out)/lr=3e-05,r=8\"\n")
               .replacingOccurrences(of: ",\(out)/lr=3e-05,r=16\n", with: ",\"\(out)/lr=3e-05,r=16\"\n"))
        let md = try String(contentsOfFile: out + "/sweep.md", encoding: .utf8)
        XCTAssertTrue(md.contains("- lr=3e-05,r=8: diverged"), md)
        let resolved = try String(contentsOfFile: out + "/lr=1e-05,r=16/recipe.resolved.yaml", encoding: .utf8)
        XCTAssertTrue(resolved.contains("  r: 16"), resolved)
        XCTAssertFalse(resolved.contains("sweep:"), resolved)
    }

    func testSweepDryRunListsRunsWithoutWriting() {
        let out = dir.appendingPathComponent("out").path
        let p = write("s.yaml", Self.minimal + "training:\n  output_dir: \(out)\n")
        XCTAssertEqual(commands.sweep(path: p, overrides: [], grid: ["training.seed=1,2"], dryRun: true, executor: FakeExecutor()), 0)
        XCTAssertEqual(stdout, ["2 runs over training.seed (2)", "  seed=1  → \(out)/seed=1", "  seed=2  → \(out)/seed=2"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    func testMigrateRewritesTheFileAtomically() throws {
        let p = write("m.yaml", Self.minimal + "  max_seq_length: 128  # keep me\n")
        XCTAssertEqual(commands.migrate(path: p, toStdout: false), 0)
        XCTAssertEqual(try String(contentsOfFile: p, encoding: .utf8), Self.minimal + "  max_length: 128  # keep me\n")
        XCTAssertEqual(stderr, ["\(p):6:3: data.max_seq_length → data.max_length"])
    }

    func testPlanPrintsOriginsOfValues() {
        let p = write("p.yaml", Self.minimal)
        XCTAssertEqual(commands.plan(path: p, overrides: ["training.seed=7"]), 0)
        let text = stdout.joined(separator: "\n")
        XCTAssertTrue(text.contains("seed: 7  # --set training.seed=7"), text)
        XCTAssertTrue(text.contains("name_or_path: m  # \(p):2"), text)
        XCTAssertTrue(text.contains("# Fine-tuning: full"), text)
    }
}
