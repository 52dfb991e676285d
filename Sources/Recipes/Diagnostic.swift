import Values

/// Where a resolved recipe value came from; `sftrun plan` prints it and errors point at it.
public enum Origin: Sendable, Equatable {
    case file(SourceMark)
    case override(String)
    case defaulted

    /// The prefix of a message about a value from here: `recipes/x.yaml:12:5`, `--set a.b=1`, `(default)`.
    public var location: String {
        switch self {
        case .file(let m): return m.location
        case .override(let text): return "--set \(text)"
        case .defaulted: return "(default)"
        }
    }
}

/// One finding about a recipe, printed as `file:line:col: path: message`.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning, note }
    public var severity: Severity
    public var path: ValuePath
    public var origin: Origin?
    public var message: String

    public init(_ severity: Severity, _ path: ValuePath, _ message: String, origin: Origin? = nil) {
        self.severity = severity
        self.path = path
        self.message = message
        self.origin = origin
    }

    public var description: String {
        let place = origin.map { $0.location + ": " } ?? ""
        let kind = severity == .error ? "" : "\(severity.rawValue): "
        let subject = path.isEmpty ? "" : "\(path.dotted): "
        return "\(place)\(kind)\(subject)\(message)"
    }

    /// Machine-readable form for CI annotations (`--format json`).
    public var json: Value {
        var o: Value = ["severity": .string(severity.rawValue), "path": .string(path.dotted), "message": .string(message)]
        switch origin {
        case .file(let m)?:
            o.setValue(.string(m.file), at: [.key("file")])
            o.setValue(.int(m.line), at: [.key("line")])
            o.setValue(.int(m.column), at: [.key("column")])
        case .override(let text)?: o.setValue(.string(text), at: [.key("override")])
        default: break
        }
        return o
    }
}

/// Thrown when a recipe cannot be used; carries every diagnostic found, not just the first.
public struct RecipeError: Error, CustomStringConvertible, Sendable {
    public var diagnostics: [Diagnostic]
    public init(_ diagnostics: [Diagnostic]) { self.diagnostics = diagnostics }
    public init(_ message: String, origin: Origin? = nil) { self.diagnostics = [Diagnostic(.error, [], message, origin: origin)] }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Edit distance, for "did you mean" suggestions.
func levenshtein(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var prev = Array(0...b.count)
    var cur = [Int](repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        cur[0] = i
        for j in 1...b.count {
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&prev, &cur)
    }
    return prev[b.count]
}

/// The closest candidate when it is close enough to be a plausible typo.
public func closestMatch(_ word: String, in candidates: [String]) -> String? {
    let scored = candidates.map { ($0, levenshtein(word.lowercased(), $0.lowercased())) }
    guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
    let limit = max(2, word.count / 3)
    if best.1 <= limit { return best.0 }
    // Also catch a prefix or suffix of a long key (`rate` → `learning_rate`).
    return candidates.first { $0.hasSuffix("_" + word) || $0.hasPrefix(word + "_") }
}
