import Foundation
import Recipes
import Values

/// The recipe-level commands (`validate`, `plan`, `migrate`, `train`, `sweep`) as functions the executable calls.
/// Each returns the process exit status and writes to the given streams, so tests can run them in-process.
public struct RecipeCommands {
    public var out: (String) -> Void
    public var err: (String) -> Void

    public init(out: @escaping (String) -> Void = { print($0) },
                err: @escaping (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) {
        self.out = out
        self.err = err
    }

    /// `sftrun validate RECIPE...`: 0 when all are valid, 1 when any is invalid.
    public func validate(paths: [String], overrides: [String], json: Bool) -> Int32 {
        var all: [Diagnostic] = []
        var invalid = 0
        for path in paths {
            do {
                let resolved = try RecipeResolver.resolve(path: path, overrides: overrides)
                all += resolved.diagnostics
                if !json {
                    resolved.diagnostics.forEach { err($0.description) }
                    out("\(path): ok")
                }
            } catch let e as RecipeError {
                invalid += 1
                all += e.diagnostics
                if !json {
                    e.diagnostics.forEach { err($0.description) }
                    let n = e.diagnostics.filter { $0.severity == .error }.count
                    out("\(path): \(n) error\(n == 1 ? "" : "s")")
                }
            } catch {
                invalid += 1
                err("\(path): \(error)")
            }
        }
        if json {
            out(JSON.serialize(.array(all.map(\.json)), pretty: true))
        }
        return invalid == 0 ? 0 : 1
    }

    /// `sftrun plan RECIPE`: the resolved recipe with where each value came from.
    public func plan(path: String, overrides: [String]) -> Int32 {
        guard let resolved = resolveOrReport(path: path, overrides: overrides) else { return 1 }
        out("# Resolved recipe \(path); each value says where it came from (file:line, --set, or default).")
        out(resolved.annotatedYAML(), terminator: "")
        if let lora = resolved.recipe.lora {
            out("# Fine-tuning: LoRA r=\(lora.r), alpha=\(YAMLWriter.scalar(.double(lora.alpha)))")
        } else {
            out("# Fine-tuning: full (all parameters train)")
        }
        for line in TrainingGraphReport.lines(resolved.recipe) { out("# " + line) }
        return 0
    }

    /// `sftrun migrate RECIPE`: rewrite legacy names in place (or print with `--stdout`).
    public func migrate(path: String, toStdout: Bool) -> Int32 {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            err("\(path): cannot read the recipe; check the path")
            return 1
        }
        do {
            let result = try Migration.migrate(text: text, file: path)
            if toStdout {
                out(result.text, terminator: "")
            } else if !result.changes.isEmpty {
                try AtomicFile.write(result.text, to: path)
            }
            result.changes.forEach { err($0) }
            if result.changes.isEmpty { err("\(path): already uses current names") }
            return 0
        } catch {
            err("\(error)")
            return 1
        }
    }

    /// `sftrun train RECIPE` (also `sftrun RECIPE`).
    public func train(path: String, overrides: [String], executor: RunExecutor) -> Int32 {
        guard let resolved = resolveOrReport(path: path, overrides: overrides) else { return 1 }
        let result = executor.run(resolved)
        if let message = result.message { err(message) }
        return result.succeeded ? 0 : result.exitCode
    }

    /// `sftrun sweep RECIPE [--grid K=V1,V2]... [--dry-run]`.
    public func sweep(path: String, overrides: [String], grid: [String], dryRun: Bool, executor: RunExecutor) -> Int32 {
        let sweep: Sweep
        do {
            var doc = try RecipeDocument.load(path: path)
            try doc.applyOverrides(overrides)
            sweep = try Sweep.expand(doc, grid: try grid.map(Sweep.parseGrid))
        } catch let e as RecipeError {
            e.diagnostics.forEach { err($0.description) }
            return 1
        } catch {
            err("\(error)")
            return 1
        }
        out("\(sweep.runs.count) run\(sweep.runs.count == 1 ? "" : "s") over " + sweep.axes.map { "\($0.key) (\($0.values.count))" }.joined(separator: " × "))
        for run in sweep.runs { out("  \(run.name)  → \(run.outputDir)") }
        if dryRun { return 0 }
        var report = SweepReport(sweep: sweep)
        for (i, run) in sweep.runs.enumerated() {
            out("[\(i + 1)/\(sweep.runs.count)] \(run.name)")
            do {
                try AtomicFile.write(run.recipe.plainYAML(), to: run.outputDir + "/recipe.resolved.yaml")
            } catch {
                report.record(run.name, RunResult.failed("\(error)"))
                err("\(error)")
                continue
            }
            let result = executor.run(run.recipe)
            if let message = result.message { err("  \(run.name): \(message)") }
            report.record(run.name, result)
        }
        do {
            try AtomicFile.write(report.csv(), to: sweep.outputDir + "/sweep.csv")
            try AtomicFile.write(report.markdown(), to: sweep.outputDir + "/sweep.md")
            out("wrote \(sweep.outputDir)/sweep.csv and sweep.md")
        } catch {
            err("\(error)")
            return 1
        }
        return report.allSucceeded ? 0 : 1
    }

    func resolveOrReport(path: String, overrides: [String]) -> ResolvedRecipe? {
        do {
            let resolved = try RecipeResolver.resolve(path: path, overrides: overrides)
            resolved.diagnostics.forEach { err($0.description) }
            return resolved
        } catch let e as RecipeError {
            e.diagnostics.forEach { err($0.description) }
            return nil
        } catch {
            err("\(path): \(error)")
            return nil
        }
    }

    func out(_ s: String, terminator: String) {
        out(terminator.isEmpty && s.hasSuffix("\n") ? String(s.dropLast()) : s)
    }
}
