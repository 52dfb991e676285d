import Foundation
import Values

/// A recipe as written: the merged value of a file and the bases it `extends`, with an origin for every node.
public struct RecipeDocument: Sendable {
    public var value: Value
    public var origins: [ValuePath: Origin] = [:]
    public var keyOrigins: [ValuePath: Origin] = [:]
    /// Paths the YAML reader saw spelled like YAML 1.1 booleans (`yes`, `off`).
    public var booleanLike: Set<ValuePath> = []
    /// The top-level file.
    public var file: String

    public init(value: Value, file: String) {
        self.value = value
        self.file = file
    }

    /// The origin of `path` or of its nearest ancestor.
    public func origin(for path: ValuePath, key: Bool = false) -> Origin? {
        var p = path
        while true {
            if key, let o = keyOrigins[p] { return o }
            if let o = origins[p] { return o }
            if p.isEmpty { return nil }
            p.removeLast()
        }
    }

    /// Bases may chain (`a` extends `b` extends `c`) up to this depth.
    public static let maxExtendsDepth = 16

    /// Reads a recipe file and merges the chain of `extends` bases under it (base first, this file on top).
    public static func load(path: String) throws -> RecipeDocument {
        try load(path: path, chain: [])
    }

    static func load(path: String, chain: [String]) throws -> RecipeDocument {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        if chain.contains(absolute) {
            throw RecipeError("`extends` forms a cycle: " + (chain + [absolute]).map { ($0 as NSString).lastPathComponent }.joined(separator: " → ")
                              + "; remove one of the `extends` keys")
        }
        if chain.count >= maxExtendsDepth {
            throw RecipeError("`extends` chain is deeper than \(maxExtendsDepth) files; flatten some bases")
        }
        let text: String
        do {
            let data = try Data(contentsOf: URL(fileURLWithPath: path))
            guard let t = String(data: data, encoding: .utf8) else {
                throw RecipeError("\(path): not UTF-8 text; save the recipe as UTF-8")
            }
            text = t
        } catch let e as RecipeError {
            throw e
        } catch {
            throw RecipeError("\(path): cannot read the recipe (\(error.localizedDescription)); check the path")
        }
        return try parse(text: text, file: path, chain: chain + [absolute])
    }

    /// Parses recipe text; `file` names it in messages and anchors relative `extends` paths.
    public static func parse(text: String, file: String) throws -> RecipeDocument {
        try parse(text: text, file: file, chain: [URL(fileURLWithPath: file).standardizedFileURL.path])
    }

    static func parse(text: String, file: String, chain: [String]) throws -> RecipeDocument {
        let yaml: YAMLDocument
        do { yaml = try YAML.parse(text, file: file) } catch let e as YAMLError {
            throw RecipeError(e.message, origin: .file(e.mark))
        }
        var doc = RecipeDocument(value: yaml.value, file: file)
        if doc.value.isNull { doc.value = .object([:]) }
        guard doc.value.objectValue != nil else {
            throw RecipeError("a recipe must be a mapping of sections (model, data, training, ...), got \(JSONSchema.describe(doc.value))",
                              origin: yaml.marks[[]].map(Origin.file))
        }
        doc.origins = yaml.marks.mapValues(Origin.file)
        doc.keyOrigins = yaml.keyMarks.mapValues(Origin.file)
        doc.booleanLike = yaml.booleanLikeStrings
        guard let base = doc.value["extends"] else { return doc }
        guard let basePath = base.stringValue, !basePath.isEmpty else {
            throw RecipeError("`extends` must be a path to a base recipe", origin: doc.origins[[.key("extends")]])
        }
        let resolved = basePath.hasPrefix("/") ? basePath
            : ((file as NSString).deletingLastPathComponent.isEmpty ? basePath : (file as NSString).deletingLastPathComponent + "/" + basePath)
        guard FileManager.default.fileExists(atPath: resolved) else {
            throw RecipeError("extends: base recipe \"\(basePath)\" not found (looked for \(resolved)); paths are relative to the recipe file",
                              origin: doc.origins[[.key("extends")]])
        }
        var parent = try load(path: resolved, chain: chain)
        var top = doc.value
        top.objectValue.map { o in var o = o; o.removeValue(forKey: "extends"); top = .object(o) }
        parent.value = parent.value.merged(with: top)
        for (p, o) in doc.origins where p != [.key("extends")] { parent.origins[p] = o }
        for (p, o) in doc.keyOrigins where p != [.key("extends")] { parent.keyOrigins[p] = o }
        parent.booleanLike.formUnion(doc.booleanLike)
        parent.file = file
        return parent
    }

    /// Applies `--set key=value` overrides; each value is read as a YAML scalar or flow collection.
    public mutating func applyOverrides(_ overrides: [String]) throws {
        var problems: [Diagnostic] = []
        for text in overrides {
            guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
                problems.append(Diagnostic(.error, [], "expected KEY=VALUE, e.g. --set training.learning_rate=3e-5", origin: .override(text)))
                continue
            }
            let key = String(text[..<eq])
            let raw = String(text[text.index(after: eq)...])
            let path = ValuePath(dotted: key)
            if path.contains(where: { if case .key(let k) = $0 { return k.isEmpty }; return false }) {
                problems.append(Diagnostic(.error, [], "\"\(key)\" is not a dotted key path (e.g. training.learning_rate)", origin: .override(text)))
                continue
            }
            let parsed: Value
            do { parsed = try YAML.parse(raw, file: "--set").value } catch {
                problems.append(Diagnostic(.error, path, "the value is not valid YAML (\(error)); quote it", origin: .override(text)))
                continue
            }
            if !value.setValue(parsed, at: path) {
                var blocking = path
                while !blocking.isEmpty, value.value(at: blocking).map({ $0.objectValue == nil }) != true { blocking.removeLast() }
                problems.append(Diagnostic(.error, path, "cannot set: \(blocking.isEmpty ? "a parent" : blocking.dotted) is not a mapping", origin: .override(text)))
                continue
            }
            origins = origins.filter { !$0.key.starts(with: path) }
            keyOrigins = keyOrigins.filter { !$0.key.starts(with: path) }
            booleanLike = booleanLike.filter { !$0.starts(with: path) }
            origins[path] = .override(text)
            keyOrigins[path] = .override(text)
        }
        if !problems.isEmpty { throw RecipeError(problems) }
    }
}
