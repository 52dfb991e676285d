/// The schema tree rebuilt from the footer's depth-first element list, with each node's definition and
/// repetition levels and the range of leaf columns beneath it (leaves are stored in this same order).
struct SchemaNode: Sendable {
    var name: String
    var repetition: Repetition
    var annotation: Annotation
    /// Set for leaves (primitive columns), nil for groups.
    var kind: LeafKind?
    var children: [SchemaNode]
    var maxDefinition: Int
    var maxRepetition: Int
    var leaves: Range<Int>
    var path: [String]

    static let maxDepth = 48

    /// The root (the message) and its leaves in column order.
    static func tree(_ elements: [SchemaElement]) throws -> (root: SchemaNode, leaves: [SchemaNode]) {
        guard let first = elements.first else { throw ParquetProblem(reason: "the footer has an empty schema") }
        var index = 1
        var leaves: [SchemaNode] = []
        let children = try build(count: first.numChildren, elements, &index, definition: 0, repetition: 0, path: [], depth: 1, leaves: &leaves)
        guard index == elements.count else {
            throw ParquetProblem(reason: "the schema lists \(elements.count) elements but its tree uses \(index)")
        }
        let root = SchemaNode(name: first.name, repetition: .required, annotation: .none, kind: nil, children: children,
                              maxDefinition: 0, maxRepetition: 0, leaves: 0..<leaves.count, path: [])
        return (root, leaves)
    }

    private static func build(count: Int, _ elements: [SchemaElement], _ index: inout Int, definition: Int, repetition: Int,
                              path: [String], depth: Int, leaves: inout [SchemaNode]) throws -> [SchemaNode] {
        guard depth < maxDepth else { throw ParquetProblem(reason: "the schema nests deeper than \(maxDepth) levels") }
        guard count >= 0, count <= elements.count - index else {
            throw ParquetProblem(reason: "a schema group claims \(count) children but only \(elements.count - index) elements follow")
        }
        var nodes: [SchemaNode] = []
        for _ in 0..<count {
            guard index < elements.count else { throw ParquetProblem(reason: "the schema's groups claim more children than it lists") }
            let e = elements[index]
            index += 1
            let def = definition + (e.repetition == .required ? 0 : 1)
            let rep = repetition + (e.repetition == .repeated ? 1 : 0)
            let nodePath = path + [e.name]
            let firstLeaf = leaves.count
            if e.numChildren > 0 {
                let children = try build(count: e.numChildren, elements, &index, definition: def, repetition: rep, path: nodePath, depth: depth + 1, leaves: &leaves)
                nodes.append(SchemaNode(name: e.name, repetition: e.repetition, annotation: e.annotation, kind: nil, children: children,
                                        maxDefinition: def, maxRepetition: rep, leaves: firstLeaf..<leaves.count, path: nodePath))
            } else {
                guard let type = e.type else {
                    throw ParquetProblem(reason: "schema element \(nodePath.joined(separator: ".")) has neither a type nor children")
                }
                let leaf = SchemaNode(name: e.name, repetition: e.repetition, annotation: e.annotation,
                                      kind: LeafKind(physical: type, typeLength: e.typeLength, annotation: e.annotation), children: [],
                                      maxDefinition: def, maxRepetition: rep, leaves: firstLeaf..<(firstLeaf + 1), path: nodePath)
                leaves.append(leaf)
                nodes.append(leaf)
            }
        }
        return nodes
    }

    var dotted: String { path.joined(separator: ".") }

    /// For a LIST-annotated group: the repeated child, and whether each repetition is the element itself
    /// (legacy 2-level lists) rather than a wrapper around a single `element` field.
    var listLayout: (repeated: SchemaNode, elementIsRepeated: Bool)? {
        guard annotation == .list, children.count == 1, let r = children.first, r.repetition == .repeated else { return nil }
        let legacy = r.kind != nil || r.children.count != 1 || r.name == "array" || r.name == name + "_tuple"
        return (r, legacy)
    }

    /// For a MAP-annotated group: the repeated key/value group.
    var mapLayout: SchemaNode? {
        guard annotation == .map, children.count == 1, let r = children.first, r.repetition == .repeated,
              r.children.count == 2, r.children[0].kind != nil else { return nil }
        return r
    }

    /// A readable type: `string`, `int64`, `list<struct<role: string, content: string>>`, `map<string, int64>`.
    var typeDescription: String {
        if let kind {
            let base: String
            switch kind.annotation {
            case .string: base = "string"
            case .json: base = "json"
            case .enumeration: base = "enum"
            case .date: base = "date"
            case .time: base = "time"
            case .timestamp: base = "timestamp"
            case .uuid: base = "uuid"
            case .float16: base = "float16"
            case .decimal: base = "decimal"
            case .integer(let bits, let signed): base = (signed ? "int" : "uint") + "\(bits)"
            default:
                switch kind.physical {
                case .boolean: base = "bool"
                case .int32: base = "int32"
                case .int64: base = "int64"
                case .int96: base = "int96"
                case .float: base = "float"
                case .double: base = "double"
                case .byteArray: base = "binary"
                case .fixedLenByteArray: base = "fixed_len_byte_array(\(kind.typeLength))"
                }
            }
            return repetition == .repeated ? "list<\(base)>" : base
        }
        if let (r, legacy) = listLayout {
            var inner = r
            inner.repetition = .required
            return "list<\((legacy ? inner : r.children[0]).typeDescription)>"
        }
        if let kv = mapLayout { return "map<\(kv.children[0].typeDescription), \(kv.children[1].typeDescription)>" }
        let fields = "struct<" + children.map { "\($0.name): \($0.typeDescription)" }.joined(separator: ", ") + ">"
        return repetition == .repeated ? "list<\(fields)>" : fields
    }
}
