import Recipes

/// What one training run reports back to `train` and `sweep`.
public struct RunResult: Sendable, Equatable {
    public var succeeded: Bool
    public var exitCode: Int32
    public var message: String?
    public var trainLoss: Double?
    public var evalLoss: Double?

    public static func failed(_ message: String, exitCode: Int32 = 1) -> RunResult {
        RunResult(succeeded: false, exitCode: exitCode, message: message)
    }
}

/// Runs one resolved recipe. The trainer plugs in here; sweeps and `sftrun train` only see this protocol.
public protocol RunExecutor {
    func run(_ recipe: ResolvedRecipe) -> RunResult
}

/// Collects run outcomes into `sweep.csv` and `sweep.md`.
struct SweepReport {
    var sweep: Sweep
    var results: [String: RunResult] = [:]

    mutating func record(_ name: String, _ result: RunResult) { results[name] = result }

    var allSucceeded: Bool { sweep.runs.allSatisfy { results[$0.name]?.succeeded == true } }

    func rows() -> [[String]] {
        sweep.runs.map { run in
            let r = results[run.name]
            let status = r == nil ? "not run" : (r!.succeeded ? "ok" : "failed")
            return [run.name] + run.settings.map { Sweep.label($0.value) } + [status,
                r?.trainLoss.map { String($0) } ?? "", r?.evalLoss.map { String($0) } ?? "", run.outputDir]
        }
    }

    var header: [String] { ["run"] + sweep.axes.map(\.key) + ["status", "train_loss", "eval_loss", "output_dir"] }

    func csv() -> String {
        func field(_ s: String) -> String {
            s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        return ([header] + rows()).map { $0.map(field).joined(separator: ",") }.joined(separator: "\n") + "\n"
    }

    func markdown() -> String {
        var lines = ["| " + header.joined(separator: " | ") + " |", "|" + String(repeating: " --- |", count: header.count)]
        lines += rows().map { "| " + $0.map { $0.replacingOccurrences(of: "|", with: "\\|") }.joined(separator: " | ") + " |" }
        let failures = sweep.runs.compactMap { run in results[run.name].flatMap { $0.succeeded ? nil : "- \(run.name): \($0.message ?? "failed")" } }
        if !failures.isEmpty { lines += ["", "Failures:"] + failures }
        return "# Sweep\n\n" + lines.joined(separator: "\n") + "\n"
    }
}
