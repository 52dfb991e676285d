import CYAML
import OrderedCollections

/// A YAML problem (syntax, duplicate key, alias budget, ...) with its place in the file.
public struct YAMLError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public var mark: SourceMark
    public var description: String { "\(mark.location): \(message)" }
}

/// A parsed YAML document: its value plus the source mark of every node and of every mapping key.
public struct YAMLDocument: Sendable {
    public var value: Value
    /// Mark of the node at each path (the value's own position).
    public var marks: [ValuePath: SourceMark]
    /// Mark of the key that introduced each mapping member.
    public var keyMarks: [ValuePath: SourceMark]
    /// Paths of plain scalars spelled like YAML 1.1 booleans (`yes`, `off`, ...), which YAML 1.2 reads as strings.
    public var booleanLikeStrings: Set<ValuePath>
    /// The file name used in marks.
    public var file: String

    /// The mark of `path`, or of its nearest ancestor that has one (e.g. inside an alias expansion).
    public func mark(for path: ValuePath, preferKey: Bool = false) -> SourceMark? {
        var p = path
        while true {
            if preferKey, let m = keyMarks[p] { return m }
            if let m = marks[p] { return m }
            if p.isEmpty { return nil }
            p.removeLast()
        }
    }
}

/// YAML 1.2 reading through libyaml with the core schema: only `true`/`false` are booleans, `1e-5` is a float,
/// duplicate keys are errors, merge keys (`<<`) work, and alias expansion is bounded.
public enum YAML {
    /// Inputs larger than this are refused before parsing (recipes are a few KB).
    public static let maxInputBytes = 8 << 20
    /// Total nodes an alias may expand to across one document; a "billion laughs" document hits this quickly.
    public static let maxAliasExpandedNodes = 100_000
    public static let maxDepth = 200

    /// Parses the first document of `text`; an empty document gives `.null`.
    public static func parse(_ text: String, file: String = "<string>") throws -> YAMLDocument {
        let bytes = Array(text.utf8)
        if bytes.count > maxInputBytes {
            throw YAMLError(message: "file is \(bytes.count) bytes; recipes are limited to \(maxInputBytes) bytes",
                            mark: SourceMark(file: file, line: 1, column: 1))
        }
        var builder = YAMLTreeBuilder(file: file)
        try builder.run(bytes)
        return YAMLDocument(value: builder.root, marks: builder.marks, keyMarks: builder.keyMarks,
                            booleanLikeStrings: builder.booleanLike, file: file)
    }

    /// Resolves a plain (unquoted) scalar with the YAML 1.2 core schema.
    public static func resolvePlainScalar(_ s: String) -> Value {
        switch s {
        case "", "~", "null", "Null", "NULL": return .null
        case "true", "True", "TRUE": return .bool(true)
        case "false", "False", "FALSE": return .bool(false)
        case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
        case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
        case ".nan", ".NaN", ".NAN": return .double(.nan)
        default: break
        }
        if let i = parseInteger(s) { return .int(i) }
        if isCoreFloat(s), let d = Double(s) { return .double(d) }
        return .string(s)
    }

    /// YAML 1.1 boolean spellings that YAML 1.2 keeps as strings; flagged so a recipe author hears about them.
    public static let booleanLikeSpellings: [String: Bool] = [
        "yes": true, "Yes": true, "YES": true, "on": true, "On": true, "ON": true, "y": true, "Y": true,
        "no": false, "No": false, "NO": false, "off": false, "Off": false, "OFF": false, "n": false, "N": false,
    ]

    static func parseInteger(_ s: String) -> Int? {
        var body = Substring(s)
        var negative = false
        if body.hasPrefix("-") { negative = true; body = body.dropFirst() } else if body.hasPrefix("+") { body = body.dropFirst() }
        guard !body.isEmpty else { return nil }
        var value: Int?
        if body.hasPrefix("0x") { value = Int(body.dropFirst(2), radix: 16) }
        else if body.hasPrefix("0o") { value = Int(body.dropFirst(2), radix: 8) }
        else if body.allSatisfy({ $0.isASCII && $0.isNumber }) { value = Int(body) }
        guard let v = value else { return nil }
        return negative ? -v : v
    }

    /// `[-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )?` from the YAML 1.2 core schema.
    static func isCoreFloat(_ s: String) -> Bool {
        var u = Array(s.utf8)[...]
        if let f = u.first, f == UInt8(ascii: "-") || f == UInt8(ascii: "+") { u = u.dropFirst() }
        func digits(_ u: inout ArraySlice<UInt8>) -> Int {
            var n = 0
            while let c = u.first, c >= 0x30, c <= 0x39 { u = u.dropFirst(); n += 1 }
            return n
        }
        let intDigits = digits(&u)
        var fracDigits = 0
        if u.first == UInt8(ascii: ".") { u = u.dropFirst(); fracDigits = digits(&u) }
        guard intDigits > 0 || fracDigits > 0 else { return false }
        if let e = u.first, e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            u = u.dropFirst()
            if let sgn = u.first, sgn == UInt8(ascii: "-") || sgn == UInt8(ascii: "+") { u = u.dropFirst() }
            guard digits(&u) > 0 else { return false }
        }
        return u.isEmpty
    }
}

/// Builds a `Value` tree from libyaml's event stream, recording marks per path.
struct YAMLTreeBuilder {
    let file: String
    var root: Value = .null
    var marks: [ValuePath: SourceMark] = [:]
    var keyMarks: [ValuePath: SourceMark] = [:]
    var booleanLike: Set<ValuePath> = []
    var anchors: [String: (value: Value, nodes: Int)] = [:]
    var expandedNodes = 0
    var parser = yaml_parser_t()
    var event = yaml_event_t()
    var haveEvent = false

    init(file: String) { self.file = file }

    func mark(_ m: yaml_mark_t, end: yaml_mark_t? = nil) -> SourceMark {
        SourceMark(file: file, line: Int(m.line) + 1, column: Int(m.column) + 1,
                   startOffset: Int(m.index), endOffset: Int((end ?? m).index))
    }

    mutating func run(_ bytes: [UInt8]) throws {
        guard yaml_parser_initialize(&parser) == 1 else {
            throw YAMLError(message: "could not initialise the YAML parser", mark: SourceMark(file: file, line: 1, column: 1))
        }
        defer { yaml_parser_delete(&parser) }
        try bytes.withUnsafeBufferPointer { buf in
            yaml_parser_set_input_string(&parser, buf.baseAddress, buf.count)
            defer { if haveEvent { yaml_event_delete(&event) } }
            try next()  // stream start
            try next()
            if event.type == YAML_STREAM_END_EVENT { return }
            guard event.type == YAML_DOCUMENT_START_EVENT else { throw unexpected() }
            try next()
            if event.type == YAML_DOCUMENT_END_EVENT { return }
            let (value, _) = try parseNode(path: [], depth: 0)
            root = value
        }
    }

    mutating func next() throws {
        if haveEvent { yaml_event_delete(&event); haveEvent = false }
        if yaml_parser_parse(&parser, &event) != 1 {
            let problem = parser.problem.map { String(cString: $0) } ?? "syntax error"
            let context = parser.context.map { String(cString: $0) + ": " } ?? ""
            throw YAMLError(message: "invalid YAML: \(context)\(problem)", mark: mark(parser.problem_mark))
        }
        haveEvent = true
    }

    func unexpected() -> YAMLError {
        YAMLError(message: "unexpected YAML structure", mark: mark(event.start_mark))
    }

    func string(_ p: UnsafeMutablePointer<yaml_char_t>?, length: Int) -> String {
        guard let p else { return "" }
        return String(decoding: UnsafeBufferPointer(start: p, count: length), as: UTF8.self)
    }

    /// Parses the node starting at the current event; returns it and its node count. Leaves the current event
    /// on the node's last event.
    mutating func parseNode(path: ValuePath, depth: Int) throws -> (Value, Int) {
        let start = mark(event.start_mark, end: event.end_mark)
        guard depth < YAML.maxDepth else {
            throw YAMLError(message: "nesting deeper than \(YAML.maxDepth) levels", mark: start)
        }
        switch event.type {
        case YAML_ALIAS_EVENT:
            let name = String(cString: event.data.alias.anchor)
            guard let anchored = anchors[name] else {
                throw YAMLError(message: "unknown alias *\(name)", mark: start)
            }
            expandedNodes += anchored.nodes
            if expandedNodes > YAML.maxAliasExpandedNodes {
                throw YAMLError(message: "aliases expand to more than \(YAML.maxAliasExpandedNodes) nodes (an alias bomb?); "
                                + "write the repeated part out or use `extends`", mark: start)
            }
            marks[path] = start
            return anchored
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            let text = string(s.value, length: s.length)
            let tag = s.tag.map { String(cString: $0) }
            let value: Value
            if let tag, tag != "!" {
                value = try resolveTagged(text, tag: tag, at: start)
            } else if s.style == YAML_PLAIN_SCALAR_STYLE {
                value = YAML.resolvePlainScalar(text)
                if YAML.booleanLikeSpellings[text] != nil { booleanLike.insert(path) }
            } else {
                value = .string(text)
            }
            marks[path] = start
            remember(anchor: s.anchor, value, nodes: 1)
            return (value, 1)
        case YAML_SEQUENCE_START_EVENT:
            let anchor = event.data.sequence_start.anchor.map { String(cString: $0) }
            var items: [Value] = []
            var count = 1
            try next()
            while event.type != YAML_SEQUENCE_END_EVENT {
                let (v, n) = try parseNode(path: path + [.index(items.count)], depth: depth + 1)
                items.append(v)
                count += n
                try next()
            }
            marks[path] = start
            let value = Value.array(items)
            if let anchor { anchors[anchor] = (value, count) }
            return (value, count)
        case YAML_MAPPING_START_EVENT:
            let anchor = event.data.mapping_start.anchor.map { String(cString: $0) }
            var object = OrderedDictionary<String, Value>()
            var explicitKeys: Set<String> = []
            var count = 1
            try next()
            while event.type != YAML_MAPPING_END_EVENT {
                let keyMark = mark(event.start_mark, end: event.end_mark)
                guard event.type == YAML_SCALAR_EVENT else {
                    throw YAMLError(message: "mapping keys must be plain strings", mark: keyMark)
                }
                let key = string(event.data.scalar.value, length: event.data.scalar.length)
                let isMergeKey = key == "<<" && event.data.scalar.style == YAML_PLAIN_SCALAR_STYLE
                try next()
                if isMergeKey {
                    let (v, n) = try parseNode(path: path + [.key("<<")], depth: depth + 1)
                    count += n
                    let sources: [Value] = v.arrayValue ?? [v]
                    for source in sources {
                        guard case .object(let o) = source else {
                            throw YAMLError(message: "a merge key (<<) needs a mapping or a list of mappings", mark: keyMark)
                        }
                        // Explicit keys win over merged ones, whichever comes first (YAML merge-key semantics).
                        for (k, mv) in o where !explicitKeys.contains(k) && object[k] == nil { object[k] = mv }
                    }
                    try next()
                    continue
                }
                if explicitKeys.contains(key) {
                    let first = keyMarks[path + [.key(key)]]
                    throw YAMLError(message: "duplicate key \"\(key)\"" + (first.map { " (first defined at line \($0.line))" } ?? "")
                                    + "; keep one of them", mark: keyMark)
                }
                explicitKeys.insert(key)
                keyMarks[path + [.key(key)]] = keyMark
                let (v, n) = try parseNode(path: path + [.key(key)], depth: depth + 1)
                object[key] = v
                count += n
                try next()
            }
            marks[path] = start
            let value = Value.object(object)
            if let anchor { anchors[anchor] = (value, count) }
            return (value, count)
        default:
            throw unexpected()
        }
    }

    mutating func remember(anchor: UnsafeMutablePointer<yaml_char_t>?, _ value: Value, nodes: Int) {
        if let anchor { anchors[String(cString: anchor)] = (value, nodes) }
    }

    func resolveTagged(_ text: String, tag: String, at mark: SourceMark) throws -> Value {
        switch tag {
        case "tag:yaml.org,2002:str": return .string(text)
        case "tag:yaml.org,2002:int":
            if let i = YAML.parseInteger(text) { return .int(i) }
        case "tag:yaml.org,2002:float":
            if let d = Double(text) { return .double(d) }
        case "tag:yaml.org,2002:bool":
            if text == "true" { return .bool(true) }
            if text == "false" { return .bool(false) }
        case "tag:yaml.org,2002:null": return .null
        default:
            throw YAMLError(message: "unsupported tag \(tag); remove it", mark: mark)
        }
        throw YAMLError(message: "\"\(text)\" is not a valid \(tag.split(separator: ":").last ?? "")", mark: mark)
    }
}
