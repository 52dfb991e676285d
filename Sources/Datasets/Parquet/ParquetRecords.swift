import OrderedCollections
import Values

/// One leaf column of one row group, decoded: a (repetition, definition) level pair per entry and the non-null values.
/// Level arrays are empty when the column's maximum level is 0.
struct LeafData: Sendable {
    var count = 0
    var repetition: [Int] = []
    var definition: [Int] = []
    var values: [Value] = []
}

/// Rebuilds nested rows from leaf columns (Dremel record assembly): a node is null or an empty list where its
/// first leaf's definition level stops short of it, and a repeated node continues while the next entry's
/// repetition level is the node's own.
struct RecordAssembler {
    let leafNodes: [SchemaNode]
    let data: [LeafData]
    var entry: [Int]
    var valueIndex: [Int]

    init(leaves: [SchemaNode], data: [LeafData]) {
        leafNodes = leaves
        self.data = data
        entry = Array(repeating: 0, count: data.count)
        valueIndex = Array(repeating: 0, count: data.count)
    }

    func problem(_ leaf: Int, _ what: String) -> ParquetProblem {
        ParquetProblem(reason: "column \(leafNodes[leaf].dotted) \(what)")
    }

    func definition(_ leaf: Int) throws -> Int {
        guard entry[leaf] < data[leaf].count else { throw problem(leaf, "ends before the row group's last row") }
        return leafNodes[leaf].maxDefinition == 0 ? 0 : data[leaf].definition[entry[leaf]]
    }

    /// The repetition level of the leaf's next unread entry, nil when the column is used up.
    func nextRepetition(_ leaf: Int) -> Int? {
        guard entry[leaf] < data[leaf].count else { return nil }
        return leafNodes[leaf].maxRepetition == 0 ? 0 : data[leaf].repetition[entry[leaf]]
    }

    mutating func skip(_ node: SchemaNode) {
        for leaf in node.leaves { entry[leaf] += 1 }
    }

    mutating func row(_ root: SchemaNode, index: Int) throws -> Value {
        for leaf in root.leaves {
            guard let r = nextRepetition(leaf) else { throw problem(leaf, "ends before row \(index)") }
            guard r == 0 else { throw problem(leaf, "does not start row \(index) at repetition level 0") }
        }
        var columns = OrderedDictionary<String, Value>()
        for child in root.children { columns[child.name] = try value(child) }
        return .object(columns)
    }

    /// The node as a field of its parent: a list of its repetitions when repeated, else one instance or null.
    mutating func value(_ node: SchemaNode) throws -> Value {
        let first = node.leaves.lowerBound
        guard node.leaves.count > 0 else { return node.repetition == .repeated ? .array([]) : .object([:]) }
        if node.repetition == .repeated {
            return .array(try repetitions(of: node) { try $0.instance(node) })
        }
        if node.repetition == .optional, try definition(first) < node.maxDefinition {
            skip(node)
            return .null
        }
        return try instance(node)
    }

    /// Every repetition of a repeated node inside one instance of its parent; none when the first leaf is not defined that far.
    mutating func repetitions(of node: SchemaNode, _ element: (inout RecordAssembler) throws -> Value) throws -> [Value] {
        let first = node.leaves.lowerBound
        if try definition(first) < node.maxDefinition {
            skip(node)
            return []
        }
        var items: [Value] = []
        repeat { items.append(try element(&self)) } while nextRepetition(first) == node.maxRepetition
        return items
    }

    /// One defined instance of the node, ignoring its own repetition.
    mutating func instance(_ node: SchemaNode) throws -> Value {
        if node.kind != nil {
            let leaf = node.leaves.lowerBound
            let d = try definition(leaf)
            entry[leaf] += 1
            guard d == node.maxDefinition else { throw problem(leaf, "has definition level \(d) where \(node.maxDefinition) was expected") }
            guard valueIndex[leaf] < data[leaf].values.count else { throw problem(leaf, "has fewer values than its definition levels promise") }
            defer { valueIndex[leaf] += 1 }
            return data[leaf].values[valueIndex[leaf]]
        }
        if let (r, legacy) = node.listLayout {
            if !legacy, let element = r.children.first {
                return .array(try repetitions(of: r) { try $0.value(element) })
            }
            return .array(try repetitions(of: r) { try $0.instance(r) })
        }
        if let kv = node.mapLayout {
            var object = OrderedDictionary<String, Value>()
            _ = try repetitions(of: kv) { a in
                let key = try a.value(kv.children[0])
                object[Self.keyText(key)] = try a.value(kv.children[1])
                return .null
            }
            return .object(object)
        }
        var object = OrderedDictionary<String, Value>()
        for child in node.children { object[child.name] = try value(child) }
        return .object(object)
    }

    static func keyText(_ key: Value) -> String {
        switch key {
        case .string(let s): return s
        case .int(let i): return String(i)
        case .double(let d): return String(d)
        case .bool(let b): return String(b)
        case .null: return "null"
        default: return JSON.serialize(key)
        }
    }

    /// Checks every column was used up by the row group's rows, so a count mismatch is an error, not silent loss.
    func checkFinished() throws {
        for leaf in data.indices where entry[leaf] != data[leaf].count {
            throw problem(leaf, "holds \(data[leaf].count) entries but the row group's rows use \(entry[leaf])")
        }
    }
}
