/// What a torch state-dict pickle can build here. Containers are values (no shared mutable objects), so a hostile
/// pickle cannot make cycles; nesting is capped, so it cannot make structures deep enough to exhaust the stack.
public indirect enum PickleValue: Hashable, Sendable {
    case none
    case bool(Bool)
    case int(Int)
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list([PickleValue])
    case dict(PickleDict)
    /// An allow-listed global not (yet) called: a storage type, a dtype, a callable awaiting REDUCE.
    case global(String)
    /// A storage named by a persistent id: ('storage', storage type, key, location, numel).
    case storage(PickleStorage)
    case tensor(PickleTensor)
    /// A harmless allow-listed object such as torch.device("cpu"), kept as its type and arguments.
    case object(type: String, args: [PickleValue])
}

/// A dict in insertion order (OrderedDict and plain dict alike; both keep order in Python 3.7+).
public struct PickleDict: Hashable, Sendable {
    public private(set) var keys: [PickleValue] = []
    public private(set) var values: [PickleValue] = []
    private var index: [PickleValue: Int] = [:]

    public init() {}

    public subscript(key: PickleValue) -> PickleValue? { index[key].map { values[$0] } }

    mutating func set(_ key: PickleValue, _ value: PickleValue) {
        if let i = index[key] { values[i] = value; return }
        index[key] = keys.count
        keys.append(key)
        values.append(value)
    }
}

public struct PickleStorage: Hashable, Sendable {
    public var key: String
    public var dtype: DType
    public var location: String
    public var elementCount: Int
}

/// A tensor as _rebuild_tensor_v2 describes it: a strided view (in elements) into a storage.
public struct PickleTensor: Hashable, Sendable {
    public var storage: PickleStorage
    public var storageOffset: Int
    public var shape: [Int]
    public var strides: [Int]
}

/// A pickle virtual machine for torch state dicts that never runs code: it knows only the opcodes torch.save emits
/// (protocols 2–5), resolves only allow-listed globals, and "calls" only the handful of torch rebuild functions by
/// building descriptions of them. Anything else in the stream is refused with its offset.
public struct RestrictedUnpickler {
    public static let maxStack = 1_000_000
    public static let maxMemo = 1_000_000
    public static let maxDepth = 64

    /// Storage types torch.save names in persistent ids, and the element type of each.
    public static let storageTypes: [String: DType] = [
        "torch.FloatStorage": .F32, "torch.HalfStorage": .F16, "torch.BFloat16Storage": .BF16,
        "torch.DoubleStorage": .F64, "torch.LongStorage": .I64, "torch.IntStorage": .I32,
        "torch.ShortStorage": .I16, "torch.CharStorage": .I8, "torch.ByteStorage": .U8, "torch.BoolStorage": .BOOL,
    ]

    /// Callables REDUCE may "call"; each is interpreted here, none is executed.
    public static let callables: Set<String> = [
        "collections.OrderedDict", "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter", "torch.device",
    ]

    /// Globals that may appear as plain values (dtypes in metadata).
    public static let valueGlobals: Set<String> = [
        "torch.float32", "torch.float16", "torch.bfloat16", "torch.float64", "torch.int64", "torch.int32",
        "torch.int16", "torch.int8", "torch.uint8", "torch.bool",
    ]

    public static func isAllowed(_ qualified: String) -> Bool {
        storageTypes[qualified] != nil || callables.contains(qualified) || valueGlobals.contains(qualified)
    }

    private let bytes: UnsafeRawBufferPointer
    private let file: String
    private let label: String
    private var pos = 0
    private var stack: [(value: PickleValue, depth: Int)] = []
    private var marks: [Int] = []
    private var memo: [Int: (value: PickleValue, depth: Int)] = [:]

    /// `label` names the pickle inside the file in messages (e.g. "archive/data.pkl").
    public init(_ bytes: UnsafeRawBufferPointer, file: String, label: String) {
        self.bytes = bytes
        self.file = file
        self.label = label
    }

    /// Runs the stream to STOP and returns the one object it built.
    public static func load(_ bytes: UnsafeRawBufferPointer, file: String, label: String) throws -> PickleValue {
        var u = RestrictedUnpickler(bytes, file: file, label: label)
        return try u.run()
    }

    private func fail(_ at: Int, _ m: String) -> WeightFileError {
        WeightFileError(file: file, "\(label) offset \(at): \(m)")
    }

    private func corrupt(_ at: Int, _ m: String) -> WeightFileError {
        fail(at, "\(m); the pickle is corrupt or not a torch state dict, re-save it or convert it to safetensors")
    }

    // MARK: - Reading the stream

    private mutating func take(_ n: Int, _ at: Int) throws -> UnsafeRawBufferPointer {
        guard n >= 0, n <= bytes.count - pos else { throw corrupt(at, "a \(n)-byte argument runs past the end of the pickle (\(bytes.count) bytes)") }
        defer { pos += n }
        return UnsafeRawBufferPointer(rebasing: bytes[pos..<(pos + n)])
    }

    private mutating func uint(_ n: Int, _ at: Int) throws -> UInt64 {
        let b = try take(n, at)
        var v: UInt64 = 0
        for k in 0..<n { v |= UInt64(b[k]) << (8 * UInt64(k)) }
        return v
    }

    private mutating func length(_ n: Int, _ at: Int) throws -> Int {
        let v = try uint(n, at)
        guard v <= UInt64(bytes.count - pos) else { throw corrupt(at, "length \(v) runs past the end of the pickle (\(bytes.count) bytes)") }
        return Int(v)
    }

    private mutating func line(_ at: Int) throws -> String {
        guard let nl = bytes[pos...].firstIndex(of: 0x0A) else { throw corrupt(at, "GLOBAL argument has no newline") }
        let b = UnsafeRawBufferPointer(rebasing: bytes[pos..<nl])
        pos = nl + 1
        guard let s = String(validating: b, as: UTF8.self) else { throw corrupt(at, "GLOBAL argument is not UTF-8") }
        return s
    }

    private func text(_ b: UnsafeRawBufferPointer, _ at: Int) throws -> String {
        guard let s = String(validating: b, as: UTF8.self) else { throw corrupt(at, "string is not valid UTF-8") }
        return s
    }

    // MARK: - Stack

    private mutating func push(_ v: PickleValue, depth: Int = 0, _ at: Int) throws {
        guard stack.count < Self.maxStack else { throw fail(at, "stack passes \(Self.maxStack) items; this is not a torch state dict, convert it to safetensors") }
        guard depth <= Self.maxDepth else { throw fail(at, "objects nest deeper than \(Self.maxDepth) levels; this is not a torch state dict, convert it to safetensors") }
        stack.append((v, depth))
    }

    private mutating func pop(_ at: Int) throws -> (value: PickleValue, depth: Int) {
        guard let top = stack.last, stack.count > (marks.last ?? 0) else { throw corrupt(at, "pops an empty stack") }
        stack.removeLast()
        return top
    }

    /// The items above the topmost MARK, removing them and the mark.
    private mutating func popMark(_ at: Int) throws -> [(value: PickleValue, depth: Int)] {
        guard let m = marks.popLast() else { throw corrupt(at, "needs a MARK but none is set") }
        let items = Array(stack[m...])
        stack.removeSubrange(m...)
        return items
    }

    private mutating func pushTuple(_ items: [(value: PickleValue, depth: Int)], _ at: Int) throws {
        try push(.tuple(items.map(\.value)), depth: 1 + (items.map(\.depth).max() ?? 0), at)
    }

    private func global(_ module: String, _ name: String, _ at: Int) throws -> PickleValue {
        let q = "\(module).\(name)"
        guard Self.isAllowed(q) else {
            throw fail(at, "refusing to load \(q): it is not one of the torch state-dict types this reader allows, and pytorch_model.bin files may run code when loaded; convert it to safetensors on a machine you trust, or use the model's .safetensors weights")
        }
        return .global(q)
    }

    // MARK: - The machine

    public mutating func run() throws -> PickleValue {
        while true {
            let at = pos
            guard pos < bytes.count else { throw corrupt(at, "the pickle ends without STOP; the file is truncated") }
            let op = bytes[pos]
            pos += 1
            switch op {
            case 0x80:  // PROTO
                let v = try uint(1, at)
                guard (2...5).contains(v) else { throw fail(at, "pickle protocol \(v) is not supported (2–5 are); re-save with torch.save or convert to safetensors") }
            case 0x95:  // FRAME: a length hint only
                _ = try uint(8, at)
            case 0x2E:  // STOP
                let v = try pop(at)
                return v.value
            case 0x7D: try push(.dict(PickleDict()), depth: 1, at)  // EMPTY_DICT
            case 0x5D: try push(.list([]), depth: 1, at)  // EMPTY_LIST
            case 0x29: try push(.tuple([]), depth: 1, at)  // EMPTY_TUPLE
            case 0x28:  // MARK
                guard marks.count < Self.maxStack else { throw fail(at, "too many MARKs; this is not a torch state dict") }
                marks.append(stack.count)
            case 0x4E: try push(.none, at)  // NONE
            case 0x88: try push(.bool(true), at)  // NEWTRUE
            case 0x89: try push(.bool(false), at)  // NEWFALSE
            case 0x4A: try push(.int(Int(Int32(bitPattern: UInt32(try uint(4, at))))), at)  // BININT
            case 0x4B: try push(.int(Int(try uint(1, at))), at)  // BININT1
            case 0x4D: try push(.int(Int(try uint(2, at))), at)  // BININT2
            case 0x8A, 0x8B:  // LONG1, LONG4: little-endian two's complement
                let n = try length(op == 0x8A ? 1 : 4, at)
                guard n <= 8 else { throw fail(at, "integer of \(n) bytes is too large for this reader (8 bytes at most)") }
                let b = try take(n, at)
                var v: UInt64 = 0
                for k in 0..<n { v |= UInt64(b[k]) << (8 * UInt64(k)) }
                if n > 0, n < 8, b[n - 1] & 0x80 != 0 { v |= ~0 << (8 * UInt64(n)) }
                try push(.int(Int(Int64(bitPattern: v))), at)
            case 0x47:  // BINFLOAT: big-endian double
                let b = try take(8, at)
                var v: UInt64 = 0
                for k in 0..<8 { v = v << 8 | UInt64(b[k]) }
                try push(.float(Double(bitPattern: v)), at)
            case 0x58, 0x8C, 0x8D:  // BINUNICODE, SHORT_BINUNICODE, BINUNICODE8
                let n = try length(op == 0x8C ? 1 : op == 0x58 ? 4 : 8, at)
                try push(.string(try text(try take(n, at), at)), at)
            case 0x55, 0x54:  // SHORT_BINSTRING, BINSTRING: Python 2 str, read as Latin-1 like Python 3's default
                let n = try length(op == 0x55 ? 1 : 4, at)
                try push(.string(String(try take(n, at).map { Character(Unicode.Scalar($0)) })), at)
            case 0x43, 0x42, 0x8E, 0x96:  // SHORT_BINBYTES, BINBYTES, BINBYTES8, BYTEARRAY8
                let n = try length(op == 0x43 ? 1 : op == 0x42 ? 4 : 8, at)
                try push(.bytes(Array(try take(n, at))), at)
            case 0x74: try pushTuple(try popMark(at), at)  // TUPLE
            case 0x85, 0x86, 0x87:  // TUPLE1, TUPLE2, TUPLE3
                var items: [(value: PickleValue, depth: Int)] = []
                for _ in 0..<Int(op - 0x84) { items.insert(try pop(at), at: 0) }
                try pushTuple(items, at)
            case 0x73:  // SETITEM
                let v = try pop(at), k = try pop(at)
                try setItems([k, v], at)
            case 0x75: try setItems(try popMark(at), at)  // SETITEMS
            case 0x61: try append([try pop(at)], at)  // APPEND
            case 0x65: try append(try popMark(at), at)  // APPENDS
            case 0x71, 0x72:  // BINPUT, LONG_BINPUT
                try put(Int(try uint(op == 0x71 ? 1 : 4, at)), at)
            case 0x94: try put(memo.count, at)  // MEMOIZE
            case 0x68, 0x6A:  // BINGET, LONG_BINGET
                let i = Int(try uint(op == 0x68 ? 1 : 4, at))
                guard let v = memo[i] else { throw corrupt(at, "memo entry \(i) is fetched before it is stored") }
                try push(v.value, depth: v.depth, at)
            case 0x30: _ = try pop(at)  // POP
            case 0x31: _ = try popMark(at)  // POP_MARK
            case 0x32:  // DUP
                let v = try pop(at)
                try push(v.value, depth: v.depth, at)
                try push(v.value, depth: v.depth, at)
            case 0x63:  // GLOBAL
                let module = try line(at), name = try line(at)
                try push(try global(module, name, at), at)
            case 0x93:  // STACK_GLOBAL
                let name = try pop(at), module = try pop(at)
                guard case .string(let n) = name.value, case .string(let m) = module.value else { throw corrupt(at, "STACK_GLOBAL needs two strings") }
                try push(try global(m, n, at), at)
            case 0x52:  // REDUCE
                let args = try pop(at), callable = try pop(at)
                guard case .tuple(let a) = args.value else { throw corrupt(at, "REDUCE arguments are not a tuple") }
                try push(try call(callable.value, a, at), depth: args.depth, at)
            case 0x81:  // NEWOBJ: cls.__new__(cls, *args), allowed for OrderedDict only
                let args = try pop(at), cls = try pop(at)
                guard case .global("collections.OrderedDict") = cls.value, case .tuple(let a) = args.value, a.isEmpty else {
                    throw fail(at, "refusing NEWOBJ on \(describe(cls.value)): only OrderedDict may be created this way in a torch state dict; convert the file to safetensors")
                }
                try push(.dict(PickleDict()), depth: 1, at)
            case 0x62:  // BUILD: object state; a state dict's OrderedDict carries `_metadata`, which weights do not need
                let state = try pop(at)
                guard case .dict = stack.last?.value, stack.count > (marks.last ?? 0) else {
                    throw fail(at, "refusing BUILD on \(describe(stack.last?.value ?? .none)) with state \(describe(state.value)): only dicts take state in a torch state dict; convert the file to safetensors")
                }
            case 0x51:  // BINPERSID
                let pid = try pop(at)
                try push(.storage(try persistentStorage(pid.value, at)), at)
            default:
                throw fail(at, "unknown or unsupported pickle opcode 0x\(String(op, radix: 16)); torch.save does not write it, so this is not a torch state dict this reader can load — convert it to safetensors")
            }
        }
    }

    private mutating func put(_ i: Int, _ at: Int) throws {
        guard let top = stack.last else { throw corrupt(at, "memoizes an empty stack") }
        guard memo[i] != nil || memo.count < Self.maxMemo else { throw fail(at, "memo passes \(Self.maxMemo) entries; this is not a torch state dict, convert it to safetensors") }
        memo[i] = top
    }

    private mutating func setItems(_ items: [(value: PickleValue, depth: Int)], _ at: Int) throws {
        guard items.count % 2 == 0 else { throw corrupt(at, "SETITEMS has an odd number of items") }
        guard let top = stack.popLast(), case .dict(var d) = top.value, stack.count >= (marks.last ?? 0) else {
            throw corrupt(at, "SETITEM(S) target is not a dict")
        }
        var depth = top.depth
        for i in stride(from: 0, to: items.count, by: 2) {
            d.set(items[i].value, items[i + 1].value)
            depth = max(depth, 1 + max(items[i].depth, items[i + 1].depth))
        }
        try push(.dict(d), depth: depth, at)
    }

    private mutating func append(_ items: [(value: PickleValue, depth: Int)], _ at: Int) throws {
        guard let top = stack.popLast(), case .list(var l) = top.value, stack.count >= (marks.last ?? 0) else {
            throw corrupt(at, "APPEND(S) target is not a list")
        }
        l.append(contentsOf: items.map(\.value))
        try push(.list(l), depth: max(top.depth, 1 + (items.map(\.depth).max() ?? 0)), at)
    }

    private func describe(_ v: PickleValue) -> String {
        switch v {
        case .global(let q): return q
        case .object(let t, _): return t
        case .none: return "None"
        case .bool: return "a bool"
        case .int: return "an int"
        case .float: return "a float"
        case .string: return "a string"
        case .bytes: return "bytes"
        case .tuple: return "a tuple"
        case .list: return "a list"
        case .dict: return "a dict"
        case .storage: return "a storage"
        case .tensor: return "a tensor"
        }
    }

    // MARK: - The allow-listed callables, interpreted

    private func persistentStorage(_ pid: PickleValue, _ at: Int) throws -> PickleStorage {
        guard case .tuple(let t) = pid, t.count == 5, case .string("storage") = t[0], case .global(let type) = t[1],
              case .string(let key) = t[2], case .string(let location) = t[3], case .int(let n) = t[4] else {
            throw corrupt(at, "persistent id is not ('storage', type, key, location, numel)")
        }
        guard let dtype = Self.storageTypes[type] else {
            throw fail(at, "persistent id names \(type), which is not a tensor storage type this reader supports")
        }
        guard n >= 0 else { throw corrupt(at, "storage \"\(key)\" has negative element count \(n)") }
        return PickleStorage(key: key, dtype: dtype, location: location, elementCount: n)
    }

    private func ints(_ v: PickleValue, _ what: String, _ at: Int) throws -> [Int] {
        guard case .tuple(let t) = v else { throw corrupt(at, "tensor \(what) is not a tuple") }
        return try t.map {
            guard case .int(let i) = $0, i >= 0 else { throw corrupt(at, "tensor \(what) holds something other than a non-negative int") }
            return i
        }
    }

    private func call(_ callable: PickleValue, _ a: [PickleValue], _ at: Int) throws -> PickleValue {
        guard case .global(let q) = callable, Self.callables.contains(q) else {
            throw fail(at, "refusing to call \(describe(callable)): only torch's tensor-rebuild functions and OrderedDict may be called in a torch state dict; convert the file to safetensors")
        }
        switch q {
        case "collections.OrderedDict":
            guard a.isEmpty else { throw fail(at, "OrderedDict called with arguments; torch state dicts call it empty, so this file is refused") }
            return .dict(PickleDict())
        case "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2":
            // (storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]])
            guard a.count >= 4, a.count <= 7, case .storage(let s) = a[0], case .int(let offset) = a[1], offset >= 0 else {
                throw corrupt(at, "\(q) arguments are not (storage, offset, size, stride, ...)")
            }
            if a.count >= 6, case .dict(let hooks) = a[5], !hooks.keys.isEmpty {
                throw fail(at, "tensor has backward hooks, which would run code; convert the file to safetensors")
            }
            let shape = try ints(a[2], "size", at), strides = try ints(a[3], "stride", at)
            guard shape.count == strides.count else { throw corrupt(at, "tensor size \(shape) and stride \(strides) differ in length") }
            return .tensor(PickleTensor(storage: s, storageOffset: offset, shape: shape, strides: strides))
        case "torch._utils._rebuild_parameter":
            guard a.count == 3, case .tensor = a[0] else { throw corrupt(at, "_rebuild_parameter arguments are not (tensor, requires_grad, hooks)") }
            if case .dict(let hooks) = a[2], !hooks.keys.isEmpty {
                throw fail(at, "parameter has backward hooks, which would run code; convert the file to safetensors")
            }
            return a[0]
        default:  // torch.device
            return .object(type: q, args: a)
        }
    }
}
