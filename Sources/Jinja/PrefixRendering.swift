import Values

/// What a render has learnt about the list whose prefixes it also produces. Output written while the template had
/// read only items below `k` (and never the list's length) is what a render of the first `k` items writes too.
final class PrefixWatch {
    var highestIndexRead = -1
    var readWhole = false
    /// Variables a prefix render sets differently (`add_generation_prompt`) that the template has looked up.
    var namesRead: Set<String> = []
    let watchedNames: Set<String>

    init(watchedNames: Set<String>) { self.watchedNames = watchedNames }
}

extension Template {
    /// A render of the template with only the first `count` items of the list, and `overrides` for some variables.
    public struct PrefixRequest: Sendable {
        public var count: Int
        public var overrides: [String: Value]

        public init(count: Int, overrides: [String: Value] = [:]) {
            self.count = count
            self.overrides = overrides
        }
    }

    /// A prefix render's text: the first `sharedLength` UTF-8 bytes of the full render, then `rest`.
    public struct PrefixText: Sendable, Equatable {
        public var sharedLength: Int
        public var rest: String

        public var utf8Count: Int { sharedLength + rest.utf8.count }

        /// Whether this text is a prefix of `full` (its UTF-8 bytes).
        public func isPrefix(of full: [UInt8]) -> Bool {
            guard sharedLength <= full.count, utf8Count <= full.count else { return false }
            return full[sharedLength..<utf8Count].elementsEqual(rest.utf8)
        }
    }

    /// Renders `context`, and the template on each requested prefix of the list `context[key]`, with the output of
    /// separate renders (assistant spans need a render per conversation prefix, which is O(turns²) work).
    ///
    /// The full render watches what the template reads of the list. When the list is iterated by a top-level
    /// `{% for %}` and, before iteration `k`, the template has read only items below `k`, never the list's length,
    /// and none of the overridden variables, a render of `k` items has written the same output up to that point;
    /// it is continued from a copy of the variables there, which leaves only the statements after the loop to
    /// render. Any other prefix is rendered in full. A prefix whose render fails carries its error.
    public func renderWithPrefixes(_ context: [String: Value], list key: String, prefixes: [PrefixRequest]) throws
        -> (text: String, prefixes: [Result<PrefixText, any Error>])
    {
        let values = context.mapValues(JValue.init)
        guard case .list(let list)? = values[key] else {
            throw JinjaError("'\(key)' must be a list to render its prefixes")
        }
        let watch = PrefixWatch(watchedNames: Set(prefixes.flatMap(\.overrides.keys)))
        let recorder = PrefixRecorder(list: list, watch: watch, needed: Set(prefixes.map(\.count)))
        list.watch = watch
        let interp = Interpreter(context: values)
        interp.frames.append([:])
        interp.watch = watch
        defer { list.watch = nil }
        try interp.executeRecording(body, recorder)
        let full = interp.out
        let fullLength = full.utf8.count
        let globals = interp.frames[0]
        let results = prefixes.map { request in
            Result<PrefixText, any Error> {
                let n = list.elements.count
                guard request.count >= 0, request.count <= n else {
                    throw JinjaError("a prefix of \(request.count) items of a list of \(n) was asked for")
                }
                let changed = request.overrides.filter { context[$0.key] != $0.value }
                if request.count == n && changed.isEmpty { return PrefixText(sharedLength: fullLength, rest: "") }
                let prefix = ListBox(Array(list.elements.prefix(request.count)))
                var frame0 = globals
                frame0[key] = .list(prefix)
                for (k, v) in request.overrides { frame0[k] = JValue(v) }
                if let b = recorder.boundaries[request.count], b.highestIndexRead < request.count,
                   b.namesRead.isDisjoint(with: changed.keys), let loopIndex = recorder.loopIndex
                {
                    var copies: [ObjectIdentifier: DictBox] = [:]
                    var frame1: [String: JValue] = [:]
                    for (k, v) in b.frame {
                        guard let c = carry(v, list, .list(prefix), &copies) else { return try renderDirectly(frame0) }
                        frame1[k] = c
                    }
                    let tail = Interpreter(frames: [frame0, frame1])
                    // A render of no items runs the loop's `{% else %}` first, and stops where that body breaks off.
                    var flow = Flow.normal
                    if request.count == 0 { flow = try tail.execute(recorder.elseBody) }
                    if flow == .normal { _ = try tail.execute(Array(body[(loopIndex + 1)...])) }
                    return PrefixText(sharedLength: b.outLength, rest: tail.out)
                }
                return try renderDirectly(frame0)
            }
        }
        return (full, results)
    }

    private func renderDirectly(_ frame0: [String: JValue]) throws -> PrefixText {
        let interp = Interpreter(frames: [frame0, [:]])
        _ = try interp.execute(body)
        return PrefixText(sharedLength: 0, rest: interp.out)
    }
}

/// The states a render passes through at the start of each iteration of the top-level loop over the watched list.
final class PrefixRecorder {
    struct Boundary {
        var outLength: Int
        var highestIndexRead: Int
        var namesRead: Set<String>
        /// The template's own top-level variables, namespaces copied.
        var frame: [String: JValue]
    }

    let list: ListBox
    let watch: PrefixWatch
    /// The item counts whose boundaries are asked for.
    let needed: Set<Int>
    var boundaries: [Int: Boundary] = [:]
    /// The position of the watched loop in the template body, and its `{% else %}` body.
    var loopIndex: Int?
    var elseBody: [Stmt] = []

    init(list: ListBox, watch: PrefixWatch, needed: Set<Int>) {
        self.list = list
        self.watch = watch
        self.needed = needed
    }

    /// Keeps the interpreter's state before item `k` when it can be continued as a render of `k` items.
    func record(_ k: Int, _ interp: Interpreter) {
        guard needed.contains(k), !watch.readWhole, watch.highestIndexRead < k, interp.frames.count == 2 else { return }
        var copies: [ObjectIdentifier: DictBox] = [:]
        var frame: [String: JValue] = [:]
        for (name, v) in interp.frames[1] {
            guard let c = carry(v, list, .list(list), &copies) else { return }
            frame[name] = c
        }
        boundaries[k] = Boundary(outLength: interp.out.utf8.count, highestIndexRead: watch.highestIndexRead,
                                 namesRead: watch.namesRead, frame: frame)
    }
}

/// A copy of `v` for another render: namespaces (the only values a template changes) copied once each, `list`
/// replaced by `replacement`. Nil for what cannot be carried over: a loop object or a method bound to a value.
private func carry(_ v: JValue, _ list: ListBox, _ replacement: JValue, _ copies: inout [ObjectIdentifier: DictBox]) -> JValue? {
    switch v {
    case .undefined, .none, .bool, .int, .double, .string: return v
    case .list(let l):
        if l === list { return replacement }
        var out: [JValue] = []
        out.reserveCapacity(l.elements.count)
        for x in l.elements {
            guard let c = carry(x, list, replacement, &copies) else { return nil }
            out.append(c)
        }
        return .list(ListBox(out))
    case .tuple(let t):
        var out: [JValue] = []
        for x in t {
            guard let c = carry(x, list, replacement, &copies) else { return nil }
            out.append(c)
        }
        return .tuple(out)
    case .dict(let d):
        var out = d.items
        for (k, x) in d.items {
            guard let c = carry(x, list, replacement, &copies) else { return nil }
            out[k] = c
        }
        return .dict(DictBox(out))
    case .namespace(let d):
        if let done = copies[ObjectIdentifier(d)] { return .namespace(done) }
        let copy = DictBox([:])
        copies[ObjectIdentifier(d)] = copy
        for (k, x) in d.items {
            guard let c = carry(x, list, replacement, &copies) else { return nil }
            copy.items[k] = c
        }
        return .namespace(copy)
    case .callable(let c): return c.boundToValue ? nil : v
    case .loop: return nil
    }
}

extension Interpreter {
    /// Executes a template body as `execute` does, running the first top-level loop over the watched list itself
    /// so that the state before each item is recorded.
    func executeRecording(_ body: [Stmt], _ recorder: PrefixRecorder) throws {
        for (index, s) in body.enumerated() {
            guard recorder.loopIndex == nil, case .forLoop(let target, .name(let name, _), .none, let loopBody, let els, let l) = s,
                  case .list(let box) = lookup(name), box === recorder.list
            else {
                if try execute([s]) != .normal { return }
                continue
            }
            recorder.loopIndex = index
            recorder.elseBody = els
            let items = box.elements
            recorder.record(0, self)
            if items.isEmpty {
                if try execute(els) != .normal { return }
                continue
            }
            let state = LoopState(items, watch: recorder.watch)
            var finished = true
            for (i, it) in items.enumerated() {
                if i > 0 { recorder.record(i, self) }
                state.index0 = i
                frames.append(["loop": .loop(state)])
                try assign(target, it, l)
                let f = try execute(loopBody)
                frames.removeLast()
                if f == .breakLoop { finished = false; break }
            }
            if finished { recorder.record(items.count, self) }
        }
    }
}
