import Foundation
import Values

/// A JSON Schema (draft 2020-12) validator for the keywords sftrun's schemas use: type, properties, required,
/// additionalProperties, propertyNames, enum, const, minimum/maximum and their exclusive forms, minLength,
/// maxLength, pattern, items, minItems, maxItems, oneOf/anyOf/allOf, if/then/else, $ref/$defs, dependentRequired.
/// It reports every violation with the path of the offending value.
public struct JSONSchema: Sendable {
    public let root: Value

    public init(_ root: Value) { self.root = root }

    public init(json: String) throws { self.root = try JSON.parse(json) }

    /// One violation: where, what, and whether it concerns the key itself (unknown key) rather than its value.
    public struct Violation: Sendable, Equatable {
        public var path: ValuePath
        public var message: String
        public var atKey: Bool
    }

    public func validate(_ value: Value) -> [Violation] {
        var out: [Violation] = []
        check(value, against: root, path: [], into: &out)
        return out
    }

    /// The sub-schema describing the value at `path` (following properties, items and $ref), if any.
    public func subschema(at path: ValuePath) -> Value? {
        var schema = resolve(root)
        for c in path {
            switch c {
            case .key(let k):
                if let p = schema["properties"]?[k] { schema = resolve(p) }
                else if let ap = schema["additionalProperties"], ap.objectValue != nil { schema = resolve(ap) }
                else if let alternatives = (schema["oneOf"] ?? schema["anyOf"])?.arrayValue,
                        let found = alternatives.lazy.map({ self.resolve($0) }).first(where: { $0["properties"]?[k] != nil }) {
                    schema = resolve(found["properties"]![k]!)
                } else { return nil }
            case .index:
                if let items = schema["items"] { schema = resolve(items) }
                else if let alternatives = (schema["oneOf"] ?? schema["anyOf"])?.arrayValue,
                        let found = alternatives.lazy.map({ self.resolve($0) }).first(where: { $0["items"] != nil }) {
                    schema = resolve(found["items"]!)
                } else { return nil }
            }
        }
        return schema
    }

    /// Follows a local `$ref` (`#/$defs/name`), merging sibling keywords such as `description`.
    public func resolve(_ schema: Value) -> Value {
        guard let ref = schema["$ref"]?.stringValue, ref.hasPrefix("#/") else { return schema }
        var target: Value? = root
        for part in ref.dropFirst(2).split(separator: "/") { target = target?[String(part)] }
        guard var resolved = target.map(resolve) else { return schema }
        if case .object(let siblings) = schema {
            for (k, v) in siblings where k != "$ref" { resolved.setValue(v, at: [.key(k)]) }
        }
        return resolved
    }

    static func describe(_ v: Value) -> String {
        switch v {
        case .string(let s): return "string \(JSON.quote(s))"
        case .int, .double: return "\(YAMLWriter.scalar(v))"
        case .bool(let b): return "boolean \(b)"
        case .null: return "null"
        case .array: return "a list"
        case .object: return "a mapping"
        }
    }

    static func typeMatches(_ v: Value, _ type: String) -> Bool {
        switch (type, v) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object): return true
        case ("integer", .int): return true
        case ("integer", .double(let d)): return d.rounded() == d
        case ("number", .int), ("number", .double): return true
        default: return false
        }
    }

    static func typeWord(_ t: String) -> String {
        switch t {
        case "object": return "a mapping"
        case "array": return "a list"
        case "null": return "null"
        case "integer": return "an integer"
        case "boolean": return "a boolean (true/false)"
        default: return "a \(t)"
        }
    }

    func check(_ value: Value, against rawSchema: Value, path: ValuePath, into out: inout [Violation]) {
        let schema = resolve(rawSchema)
        if case .bool(let allowed) = schema {
            if !allowed { out.append(Violation(path: path, message: "is not allowed here", atKey: true)) }
            return
        }
        if let type = schema["type"] {
            let types = type.arrayValue?.compactMap(\.stringValue) ?? [type.stringValue ?? ""]
            if !types.contains(where: { JSONSchema.typeMatches(value, $0) }) {
                let expected = types.filter { $0 != "null" }.map(JSONSchema.typeWord)
                let words = (expected.isEmpty ? ["null"] : expected).joined(separator: " or ")
                out.append(Violation(path: path, message: "must be \(words)\(types.contains("null") ? " (or null)" : ""), got \(JSONSchema.describe(value))", atKey: false))
                return
            }
        }
        if let options = schema["enum"]?.arrayValue, !options.contains(value) {
            var message = "must be one of " + options.map(YAMLWriter.scalar).joined(separator: ", ") + "; got \(JSONSchema.describe(value))"
            if case .string(let s) = value, let near = closestMatch(s, in: options.compactMap(\.stringValue)) {
                message += " (did you mean \"\(near)\"?)"
            }
            out.append(Violation(path: path, message: message, atKey: false))
        }
        if let c = schema["const"], c != value {
            out.append(Violation(path: path, message: "must be \(YAMLWriter.scalar(c)), got \(JSONSchema.describe(value))", atKey: false))
        }
        if let n = value.doubleValue, value.boolValue == nil {
            func bound(_ key: String, _ ok: (Double, Double) -> Bool, _ op: String) {
                if let b = schema[key]?.doubleValue, !ok(n, b) {
                    out.append(Violation(path: path, message: "must be \(op) \(YAMLWriter.scalar(schema[key]!)), got \(YAMLWriter.scalar(value))", atKey: false))
                }
            }
            bound("minimum", >=, ">=")
            bound("maximum", <=, "<=")
            bound("exclusiveMinimum", >, ">")
            bound("exclusiveMaximum", <, "<")
        }
        if case .string(let s) = value {
            if let m = schema["minLength"]?.intValue, s.count < m {
                out.append(Violation(path: path, message: m == 1 ? "must not be empty" : "must have at least \(m) characters", atKey: false))
            }
            if let m = schema["maxLength"]?.intValue, s.count > m {
                out.append(Violation(path: path, message: "must have at most \(m) characters", atKey: false))
            }
            if let p = schema["pattern"]?.stringValue, !JSONSchema.matches(s, pattern: p) {
                out.append(Violation(path: path, message: "must match the pattern \(p), got \(JSON.quote(s))", atKey: false))
            }
        }
        if case .array(let items) = value {
            if let m = schema["minItems"]?.intValue, items.count < m {
                out.append(Violation(path: path, message: "must have at least \(m) item\(m == 1 ? "" : "s")", atKey: false))
            }
            if let m = schema["maxItems"]?.intValue, items.count > m {
                out.append(Violation(path: path, message: "must have at most \(m) items", atKey: false))
            }
            if let itemSchema = schema["items"] {
                for (i, item) in items.enumerated() { check(item, against: itemSchema, path: path + [.index(i)], into: &out) }
            }
        }
        if case .object(let members) = value {
            let properties = schema["properties"]?.objectValue ?? [:]
            for key in schema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [] where members[key] == nil {
                out.append(Violation(path: path, message: "missing required key \"\(key)\"", atKey: false))
            }
            if let deps = schema["dependentRequired"]?.objectValue {
                for (key, needed) in deps where members[key] != nil {
                    for n in needed.arrayValue?.compactMap(\.stringValue) ?? [] where members[n] == nil {
                        out.append(Violation(path: path, message: "\"\(key)\" needs \"\(n)\" as well", atKey: false))
                    }
                }
            }
            for (key, member) in members {
                let memberPath = path + [.key(key)]
                if let names = schema["propertyNames"] {
                    var sub: [Violation] = []
                    check(.string(key), against: names, path: memberPath, into: &sub)
                    out += sub.map { Violation(path: memberPath, message: "key " + $0.message, atKey: true) }
                }
                if let p = properties[key] {
                    check(member, against: p, path: memberPath, into: &out)
                } else if let extra = schema["additionalProperties"] {
                    if extra == .bool(false) {
                        var message = "unknown key \"\(key)\""
                        if let near = closestMatch(key, in: Array(properties.keys)) { message += "; did you mean \"\(near)\"?" }
                        else if !properties.isEmpty { message += "; known keys: " + properties.keys.joined(separator: ", ") }
                        out.append(Violation(path: memberPath, message: message, atKey: true))
                    } else {
                        check(member, against: extra, path: memberPath, into: &out)
                    }
                }
            }
        }
        if let all = schema["allOf"]?.arrayValue {
            for s in all { check(value, against: s, path: path, into: &out) }
        }
        if let any = schema["anyOf"]?.arrayValue { checkAlternatives(value, any, exactlyOne: false, path: path, into: &out) }
        if let one = schema["oneOf"]?.arrayValue { checkAlternatives(value, one, exactlyOne: true, path: path, into: &out) }
        if let condition = schema["if"] {
            var probe: [Violation] = []
            check(value, against: condition, path: path, into: &probe)
            if probe.isEmpty, let then = schema["then"] { check(value, against: then, path: path, into: &out) }
            if !probe.isEmpty, let otherwise = schema["else"] { check(value, against: otherwise, path: path, into: &out) }
        }
    }

    func checkAlternatives(_ value: Value, _ alternatives: [Value], exactlyOne: Bool, path: ValuePath, into out: inout [Violation]) {
        var results: [[Violation]] = []
        for a in alternatives {
            var sub: [Violation] = []
            check(value, against: a, path: path, into: &sub)
            results.append(sub)
        }
        let passing = results.filter(\.isEmpty).count
        if passing == 1 || (!exactlyOne && passing > 1) { return }
        if passing > 1 {
            out.append(Violation(path: path, message: "matches more than one allowed form", atKey: false))
            return
        }
        // Report the errors of the one alternative whose type fits the value: that is the form the user meant.
        let fitting = alternatives.indices.filter { i in
            let s = resolve(alternatives[i])
            guard let t = s["type"] else { return s["enum"] != nil ? value.stringValue != nil : false }
            let types = t.arrayValue?.compactMap(\.stringValue) ?? [t.stringValue ?? ""]
            return types.contains { JSONSchema.typeMatches(value, $0) }
        }
        if fitting.count == 1 {
            out += results[fitting[0]]
            return
        }
        let forms = alternatives.map { alt -> String in
            let s = resolve(alt)
            if let e = s["enum"]?.arrayValue { return e.map(YAMLWriter.scalar).joined(separator: " or ") }
            if let t = s["type"]?.stringValue {
                if t == "array", let it = s["items"].map(resolve), let itType = it["type"]?.stringValue {
                    return "a list of \(itType)s"
                }
                return JSONSchema.typeWord(t)
            }
            return "another form"
        }
        out.append(Violation(path: path, message: "must be " + forms.joined(separator: ", or ") + "; got \(JSONSchema.describe(value))", atKey: false))
    }

    static func matches(_ s: String, pattern: String) -> Bool {
        guard let re = try? NSRegularExpression(pattern: pattern) else { return false }
        return re.firstMatch(in: s, range: NSRange(s.startIndex..., in: s)) != nil
    }
}
