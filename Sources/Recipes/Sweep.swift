import Values

/// A hyperparameter grid expanded into runs: the cartesian product of the `sweep:` axes and `--grid` axes.
public struct Sweep: Sendable {
    public struct Axis: Sendable, Equatable {
        public var key: String
        public var values: [Value]
    }
    public struct Run: Sendable {
        /// Stable name, e.g. `lr=3e-05,r=16`: the same settings always give the same name.
        public var name: String
        public var settings: [(key: String, value: Value)]
        public var recipe: ResolvedRecipe
        public var outputDir: String
    }

    public var axes: [Axis]
    public var runs: [Run]
    /// The base recipe's `training.output_dir`; runs live in folders below it, and `sweep.csv` beside them.
    public var outputDir: String

    /// Short names for run folders (`lr=3e-05`); other keys use their last component (`r=16`).
    static let shortNames: [String: String] = [
        "training.learning_rate": "lr", "training.per_device_train_batch_size": "bs", "training.gradient_accumulation_steps": "ga",
        "training.num_train_epochs": "epochs", "training.weight_decay": "wd", "training.warmup_ratio": "warmup",
        "peft.lora_alpha": "alpha", "peft.lora_dropout": "dropout", "data.max_length": "len",
    ]

    /// Value text in run names, as Python prints it (`3e-05`, `0.1`, `16`), so names match what users know.
    public static func label(_ v: Value) -> String {
        switch v {
        case .double(let d): return d.description
        case .string(let s): return s.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: ",", with: "_")
        default: return YAMLWriter.scalar(v)
        }
    }

    /// Parses `--grid KEY=V1,V2` into an axis (each value read as YAML).
    public static func parseGrid(_ text: String) throws -> Axis {
        guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
            throw RecipeError("--grid \(text): expected KEY=V1,V2,... e.g. --grid training.learning_rate=1e-5,3e-5")
        }
        let key = String(text[..<eq])
        let values = try text[text.index(after: eq)...].split(separator: ",", omittingEmptySubsequences: false).map { part -> Value in
            do { return try YAML.parse(String(part), file: "--grid").value } catch {
                throw RecipeError("--grid \(text): \"\(part)\" is not a valid value; quote it")
            }
        }
        guard !values.isEmpty else { throw RecipeError("--grid \(text): give at least one value") }
        return Axis(key: key, values: values)
    }

    /// Expands and resolves every run up front, so one bad combination is reported before anything trains.
    public static func expand(_ document: RecipeDocument, grid: [Axis]) throws -> Sweep {
        var base = document
        var axes: [Axis] = []
        for (key, values) in base.value["sweep"]?.objectValue ?? [:] {
            axes.append(Axis(key: key, values: values.arrayValue ?? [values]))
        }
        for axis in grid {
            if let i = axes.firstIndex(where: { $0.key == axis.key }) { axes[i] = axis } else { axes.append(axis) }
        }
        guard !axes.isEmpty else {
            throw RecipeError("nothing to sweep: add a `sweep:` section (e.g. `sweep: {training.learning_rate: [1e-5, 3e-5]}`) or pass --grid KEY=V1,V2")
        }
        // Check the base on its own first (with the sweep section), so its own mistakes are reported once.
        _ = try RecipeResolver.resolve(base)
        base.remove(["sweep"])
        let outputDir = base.value["training"]?["output_dir"]?.stringValue ?? "trainer_output"
        var combos: [[(String, Value)]] = [[]]
        for axis in axes {
            combos = combos.flatMap { prefix in axis.values.map { prefix + [(axis.key, $0)] } }
        }
        var runs: [Run] = []
        var problems: [Diagnostic] = []
        for combo in combos {
            let name = combo.map { "\(shortNames[$0.0] ?? String($0.0.split(separator: ".").last!))=\(label($0.1))" }.joined(separator: ",")
            var doc = base
            for (key, value) in combo {
                let path = ValuePath(dotted: key)
                doc.value.setValue(value, at: path)
                doc.origins[path] = .override("sweep \(key)=\(YAMLWriter.scalar(value))")
            }
            let runDir = outputDir + "/" + name
            doc.value.setValue(.string(runDir), at: ["training", "output_dir"])
            doc.origins[["training", "output_dir"]] = .override("sweep run \(name)")
            do {
                let resolved = try RecipeResolver.resolve(doc)
                runs.append(Run(name: name, settings: combo.map { (key: $0.0, value: $0.1) }, recipe: resolved, outputDir: runDir))
            } catch let e as RecipeError {
                problems += e.diagnostics.filter { $0.severity == .error }.map {
                    var d = $0
                    d.message = "in sweep run \(name): " + d.message
                    return d
                }
            }
        }
        if !problems.isEmpty { throw RecipeError(problems) }
        return Sweep(axes: axes, runs: runs, outputDir: outputDir)
    }
}
