import OrderedCollections

/// Loop control signalled out of a statement list (`{% break %}` / `{% continue %}`, jinja2.ext.loopcontrols).
enum Flow { case normal, breakLoop, continueLoop }

/// Walks the parsed statements and writes output; one instance per render.
final class Interpreter {
    /// Variable frames, innermost last. Frame 0 holds globals and the caller's context.
    var frames: [[String: JValue]]
    var out = ""
    var spans: [Range<Int>] = []

    /// Set while the render also produces prefix renders (PrefixRendering.swift): lookups of their overridden
    /// variables are reported.
    var watch: PrefixWatch?

    init(context: [String: JValue]) { frames = [Builtins.globals.merging(context) { _, new in new }] }

    /// Continues from variable frames taken from another render.
    init(frames: [[String: JValue]]) { self.frames = frames }

    func lookup(_ name: String) -> JValue {
        if let watch, watch.watchedNames.contains(name) { watch.namesRead.insert(name) }
        for f in frames.reversed() { if let v = f[name] { return v } }
        return .undefined("'\(name)' is undefined")
    }

    func execute(_ body: [Stmt]) throws -> Flow {
        for s in body {
            let f = try execute(s)
            if f != .normal { return f }
        }
        return .normal
    }

    /// Renders `body` into a string of its own (block set, macro bodies, call blocks).
    func capture(_ body: [Stmt]) throws -> String {
        let saved = out
        let savedSpans = spans
        out = ""
        defer { out = saved; spans = savedSpans }
        _ = try execute(body)
        return out
    }

    private func execute(_ s: Stmt) throws -> Flow {
        switch s {
        case .text(let t): out += t
        case .output(let e, let l):
            let v = try eval(e)
            out += try withLine(l) { v.str }
        case .ifs(let branches, let els):
            for (c, body) in branches where try eval(c).truthy { return try execute(body) }
            return try execute(els)
        case .forLoop(let target, let iterExpr, let filter, let body, let els, let l):
            return try runFor(target, iterExpr, filter, body, els, l)
        case .set(let target, let e, let l):
            try assign(target, try eval(e), l)
        case .setBlock(let target, let body, let l):
            try assign(target, .string(try capture(body)), l)
        case .macro(let name, let params, let body, _):
            frames[frames.count - 1][name] = .callable(makeMacro(name, params, body))
        case .callBlock(let callee, let params, let body, let l):
            let caller = makeMacro("caller", params, body)
            guard case .call(let fn, let args, let kwargs, let cl) = callee else {
                throw JinjaError("{% call %} needs a macro call such as 'my_macro(x)'; fix the tag", line: l)
            }
            let f = try eval(fn)
            let a = try args.map(eval)
            var k = try kwargs.map { ($0.0, try eval($0.1)) }
            k.append(("caller", .callable(caller)))
            out += try callValue(f, a, k, cl).str
        case .with(let bindings, let body):
            var frame: [String: JValue] = [:]
            for (n, e) in bindings { frame[n] = try eval(e) }
            frames.append(frame)
            defer { frames.removeLast() }
            return try execute(body)
        case .generation(let body):
            let start = out.utf8.count
            let f = try execute(body)
            spans.append(start..<out.utf8.count)
            return f
        case .breakLoop: return .breakLoop
        case .continueLoop: return .continueLoop
        }
        return .normal
    }

    private func withLine<T>(_ line: Int, _ body: () throws -> T) throws -> T {
        do { return try body() } catch var e as JinjaError {
            if e.line == nil { e.line = line }
            throw e
        }
    }

    private func makeMacro(_ name: String, _ params: [(String, Expr?)], _ body: [Stmt]) -> Callable {
        Callable(name: name) { args, kwargs, interp, line in
            var frame: [String: JValue] = [:]
            var extra: [JValue] = []
            for (i, a) in args.enumerated() {
                if i < params.count { frame[params[i].0] = a } else { extra.append(a) }
            }
            var extraKw: OrderedDictionary<String, JValue> = [:]
            for (k, v) in kwargs {
                if params.contains(where: { $0.0 == k }) || k == "caller" { frame[k] = v } else { extraKw[k] = v }
            }
            if !extra.isEmpty { throw JinjaError("macro '\(name)' takes not more than \(params.count) argument(s); pass fewer arguments", line: line) }
            if !extraKw.isEmpty { throw JinjaError("macro '\(name)' takes no keyword argument '\(extraKw.keys[0])'; remove it", line: line) }
            let savedFrames = interp.frames
            interp.frames = [interp.frames[0]] + (interp.frames.count > 1 ? [interp.frames[1]] : []) + [frame]
            defer { interp.frames = savedFrames }
            for (n, def) in params where frame[n] == nil {
                interp.frames[interp.frames.count - 1][n] = try def.map { try interp.eval($0) } ?? .undefined("'\(n)' is undefined")
            }
            return .string(try interp.capture(body))
        }
    }

    private func runFor(_ target: Target, _ iterExpr: Expr, _ filter: Expr?, _ body: [Stmt], _ els: [Stmt], _ l: Int) throws -> Flow {
        var items = try withLine(l) { try iterate(try eval(iterExpr)) }
        if let filter {
            var kept: [JValue] = []
            frames.append([:])
            for it in items {
                try assign(target, it, l)
                if try eval(filter).truthy { kept.append(it) }
            }
            frames.removeLast()
            items = kept
        }
        if items.isEmpty { return try execute(els) }
        let state = LoopState(items)
        for (i, it) in items.enumerated() {
            state.index0 = i
            frames.append(["loop": .loop(state)])
            try assign(target, it, l)
            let f = try execute(body)
            frames.removeLast()
            if f == .breakLoop { break }
        }
        return .normal
    }

    /// Iterates like Python `for`: lists, tuples, dict keys, string characters; undefined is empty.
    func iterate(_ v: JValue) throws -> [JValue] {
        switch v {
        case .undefined: return []
        case .list(let l): return l.items
        case .tuple(let t): return t
        case .dict(let d): return d.items.keys.map { .string($0) }
        case .string(let s): return s.unicodeScalars.map { .string(String($0)) }
        default: throw JinjaError("'\(v.pyType)' object is not iterable")
        }
    }

    func assign(_ target: Target, _ v: JValue, _ l: Int) throws {
        switch target {
        case .name(let n): frames[frames.count - 1][n] = v
        case .attr(let n, let a):
            guard case .namespace(let ns) = lookup(n) else {
                throw JinjaError("cannot assign attribute on non-namespace object; create '\(n)' with namespace()", line: l)
            }
            if a.hasPrefix("_") {
                throw JinjaError("Chat templates cannot store underscore-prefixed attributes on a namespace, but got '\(a)'. Please rename the attribute.", line: l)
            }
            ns.items[a] = v
        case .tuple(let ts):
            let vs = try withLine(l) { try iterate(v) }
            guard vs.count == ts.count else {
                throw JinjaError(vs.count > ts.count ? "too many values to unpack (expected \(ts.count))" : "not enough values to unpack (expected \(ts.count), got \(vs.count))", line: l)
            }
            for (t, x) in zip(ts, vs) { try assign(t, x, l) }
        }
    }

    func eval(_ e: Expr) throws -> JValue {
        switch e {
        case .literal(let v): return v
        case .name(let n, _): return lookup(n)
        case .list(let xs): return .list(try xs.map(eval))
        case .tuple(let xs): return .tuple(try xs.map(eval))
        case .dict(let pairs):
            var d: OrderedDictionary<String, JValue> = [:]
            for (k, v) in pairs { d[try eval(k).str] = try eval(v) }
            return .dict(DictBox(d))
        case .attr(let o, let name, let l):
            let obj = try eval(o)
            return try withLine(l) { try Builtins.getAttr(obj, name) }
        case .item(let o, let k, let l):
            let obj = try eval(o)
            let key = try eval(k)
            return try withLine(l) { try Builtins.getItem(obj, key) }
        case .slice(let o, let a, let b, let c, let l):
            let obj = try eval(o)
            let start = try a.map(eval), stop = try b.map(eval), step = try c.map(eval)
            return try withLine(l) { try Builtins.slice(obj, start, stop, step) }
        case .call(let fn, let args, let kwargs, let l):
            let f = try eval(fn)
            let a = try args.map(eval)
            let k = try kwargs.map { ($0.0, try eval($0.1)) }
            return try callValue(f, a, k, l)
        case .filter(let v, let name, let args, let kwargs, let l):
            let x = try eval(v)
            let a = try args.map(eval)
            let k = try kwargs.map { ($0.0, try eval($0.1)) }
            return try withLine(l) { try Builtins.filter(name, x, a, k, self, l) }
        case .test(let v, let name, let args, let negated, let l):
            let x = try eval(v)
            let a = try args.map(eval)
            let r = try withLine(l) { try Builtins.test(name, x, a) }
            return .bool(r != negated)
        case .unary(let op, let v, let l):
            let x = try eval(v)
            return try withLine(l) {
                switch x {
                case .int(let i): return .int(op == "-" ? -i : i)
                case .double(let d): return .double(op == "-" ? -d : d)
                case .bool(let b): return .int(op == "-" ? -(b ? 1 : 0) : (b ? 1 : 0))
                case .undefined(let h): throw JinjaError(h)
                default: throw JinjaError("bad operand type for unary \(op): '\(x.pyType)'")
                }
            }
        case .binary(let op, let a, let b, let l):
            let x = try eval(a), y = try eval(b)
            return try withLine(l) { try Builtins.binary(op, x, y) }
        case .and(let a, let b):
            let x = try eval(a)
            return x.truthy ? try eval(b) : x
        case .or(let a, let b):
            let x = try eval(a)
            return x.truthy ? x : try eval(b)
        case .not(let a): return .bool(!(try eval(a).truthy))
        case .compare(let first, let ops, let l):
            var left = try eval(first)
            for (op, re) in ops {
                let right = try eval(re)
                let r = try withLine(l) { try Builtins.compare(op, left, right) }
                if !r { return .bool(false) }
                left = right
            }
            return .bool(true)
        case .cond(let c, let a, let b):
            if try eval(c).truthy { return try eval(a) }
            return try b.map(eval) ?? .undefined("the inline if-expression evaluated to false and no else section was defined")
        }
    }

    func callValue(_ f: JValue, _ args: [JValue], _ kwargs: [(String, JValue)], _ l: Int) throws -> JValue {
        switch f {
        case .callable(let c):
            do { return try c.call(args, kwargs, self, l) } catch var e as JinjaError {
                if e.line == nil { e.line = l }
                throw e
            }
        case .undefined(let h): throw JinjaError(h, line: l)
        default: throw JinjaError("'\(f.pyType)' object is not callable; call a function, macro or method", line: l)
        }
    }
}
