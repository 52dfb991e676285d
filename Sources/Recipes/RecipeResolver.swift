import Values

/// A recipe after `extends`, overrides, legacy names, schema checks, defaults and cross-field checks.
public struct ResolvedRecipe: Sendable {
    /// The full recipe with defaults filled.
    public var value: Value
    public var document: RecipeDocument
    /// Warnings and notes (errors are thrown).
    public var diagnostics: [Diagnostic]
    public var recipe: Recipe

    /// The resolved recipe as YAML with `# default`, `# file:line` or `# --set ...` after each value.
    public func annotatedYAML() -> String {
        YAMLWriter.write(value) { path in
            if case .index = path.last { return nil }
            let leaf = value.value(at: path).map { !YAMLWriter.isBlock($0) } ?? false
            guard leaf else { return nil }
            switch document.origins[path] ?? document.origin(for: path) {
            case .file(let m)?: return "\(m.file):\(m.line)"
            case .override(let t)?: return "--set \(t)"
            default: return "default"
            }
        }
    }

    /// The resolved recipe as plain YAML (what `recipe.resolved.yaml` holds).
    public func plainYAML() -> String { YAMLWriter.write(value) }
}

/// Resolves recipe files: the one entry point the CLI and trainer use.
public enum RecipeResolver {
    /// The recipe schema the binary was built with (`schemas/recipe.schema.json`).
    public static let schema: JSONSchema = {
        do { return try JSONSchema(json: RecipeSchemaText.json) } catch { preconditionFailure("embedded recipe schema is not valid JSON: \(error)") }
    }()

    /// Loads and resolves a recipe file with `--set` overrides; throws a `RecipeError` listing every error.
    public static func resolve(path: String, overrides: [String] = []) throws -> ResolvedRecipe {
        var doc = try RecipeDocument.load(path: path)
        try doc.applyOverrides(overrides)
        return try resolve(doc)
    }

    public static func resolve(_ input: RecipeDocument) throws -> ResolvedRecipe {
        var doc = input
        var diagnostics = doc.applyLegacyNames()
        diagnostics += coerceBooleanLikeStrings(&doc)
        for violation in schema.validate(doc.value) {
            diagnostics.append(Diagnostic(.error, violation.path, violation.message,
                                          origin: doc.origin(for: violation.path, key: violation.atKey)))
        }
        if let sweep = doc.value["sweep"]?.objectValue {
            for (key, _) in sweep {
                let target = ValuePath(dotted: key)
                if schema.subschema(at: target) == nil || target.first == .key("sweep") {
                    diagnostics.append(Diagnostic(.error, ["sweep", .key(key)], "\"\(key)\" is not a recipe key that can be swept",
                                                  origin: doc.origin(for: ["sweep", .key(key)], key: true)))
                }
            }
        }
        var value = doc.value
        for section in ["tokenizer", "training"] where value[section] == nil {
            value.setValue(.object([:]), at: [.key(section)])
        }
        fillDefaults(&value, schema: schema.root, path: [], doc: &doc)
        diagnostics += CrossFieldChecks.run(value, doc: doc)
        if diagnostics.contains(where: { $0.severity == .error }) { throw RecipeError(diagnostics) }
        let recipe = Recipe(value)
        return ResolvedRecipe(value: value, document: doc, diagnostics: diagnostics, recipe: recipe)
    }

    /// YAML 1.2 reads `yes`/`on` as strings; where the schema wants a boolean, read it as one and warn.
    static func coerceBooleanLikeStrings(_ doc: inout RecipeDocument) -> [Diagnostic] {
        var out: [Diagnostic] = []
        for path in doc.booleanLike.sorted(by: { $0.dotted < $1.dotted }) {
            guard let s = doc.value.value(at: path)?.stringValue, let b = YAML.booleanLikeSpellings[s],
                  let sub = schema.subschema(at: path), expectsBoolean(sub) else { continue }
            doc.value.setValue(.bool(b), at: path)
            out.append(Diagnostic(.warning, path, "\"\(s)\" is a string in YAML 1.2; read as \(b) here — write \(b)",
                                  origin: doc.origin(for: path)))
        }
        return out
    }

    static func expectsBoolean(_ schema: Value) -> Bool {
        if let t = schema["type"] {
            return (t.arrayValue?.compactMap(\.stringValue) ?? [t.stringValue ?? ""]).contains("boolean")
        }
        return (schema["oneOf"] ?? schema["anyOf"])?.arrayValue?.contains { expectsBoolean(RecipeResolver.schema.resolve($0)) } ?? false
    }

    /// Adds each missing property that has a `default`, recursing into present objects and lists.
    static func fillDefaults(_ value: inout Value, schema raw: Value, path: ValuePath, doc: inout RecipeDocument) {
        var s = RecipeResolver.schema.resolve(raw)
        if let alternatives = (s["oneOf"] ?? s["anyOf"])?.arrayValue {
            let v = value
            guard let fit = alternatives.map(RecipeResolver.schema.resolve).first(where: { RecipeResolver.schema.validateAgainst(v, $0) }) else { return }
            s = fit
        }
        switch value {
        case .object(var o):
            guard let props = s["properties"]?.objectValue else { return }
            for (key, propSchema) in props {
                let p = path + [.key(key)]
                if var member = o[key] {
                    fillDefaults(&member, schema: propSchema, path: p, doc: &doc)
                    o[key] = member
                } else if let d = RecipeResolver.schema.resolve(propSchema)["default"] {
                    o[key] = d
                    doc.origins[p] = .defaulted
                }
            }
            value = .object(o)
        case .array(var a):
            guard let items = s["items"] else { return }
            for i in a.indices { fillDefaults(&a[i], schema: items, path: path + [.index(i)], doc: &doc) }
            value = .array(a)
        default: return
        }
    }
}

extension JSONSchema {
    func validateAgainst(_ value: Value, _ schema: Value) -> Bool {
        var out: [Violation] = []
        check(value, against: schema, path: [], into: &out)
        return out.isEmpty
    }
}
