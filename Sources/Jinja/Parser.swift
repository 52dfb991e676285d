/// Recursive-descent parser following jinja2 3.1 parser.py's grammar and operator precedence.
struct Parser {
    private var toks: [Token]
    private var p = 0

    init(_ tokens: [Token]) { toks = tokens }

    static func parse(_ source: String) throws -> [Stmt] {
        var parser = Parser(try Lexer.tokenize(source))
        let body = try parser.parseBody(until: [])
        return body
    }

    private var cur: Token { toks[p] }
    private var line: Int { toks[p].line }
    private mutating func advance() { if p < toks.count - 1 { p += 1 } }

    private func isOp(_ o: String) -> Bool { if case .op(o) = cur.kind { return true }; return false }
    private func isName(_ n: String) -> Bool { if case .name(n) = cur.kind { return true }; return false }

    private func describe(_ k: Token.Kind) -> String {
        switch k {
        case .text: return "text"
        case .blockBegin: return "'{%'"
        case .blockEnd: return "end of statement block"
        case .varBegin: return "'{{'"
        case .varEnd: return "end of print statement"
        case .name(let n): return "'\(n)'"
        case .string(let s): return "string '\(s)'"
        case .int(let i): return "integer \(i)"
        case .float(let d): return "float \(d)"
        case .op(let o): return "'\(o)'"
        case .eof: return "end of template"
        }
    }

    private mutating func expectOp(_ o: String) throws {
        guard isOp(o) else { throw JinjaError("expected '\(o)', got \(describe(cur.kind)); fix the expression", line: line) }
        advance()
    }

    private mutating func expectBlockEnd() throws {
        guard case .blockEnd = cur.kind else {
            throw JinjaError("expected end of statement block, got \(describe(cur.kind)); fix the tag", line: line)
        }
        advance()
    }

    private mutating func expectName() throws -> String {
        guard case .name(let n) = cur.kind else { throw JinjaError("expected a name, got \(describe(cur.kind)); fix the tag", line: line) }
        advance()
        return n
    }

    /// Parses statements until a `{% name %}` in `until` (left unconsumed after the `{%`) or the end.
    private mutating func parseBody(until: Set<String>) throws -> [Stmt] {
        var out: [Stmt] = []
        while true {
            switch cur.kind {
            case .text(let t): out.append(.text(t)); advance()
            case .varBegin:
                let l = line
                advance()
                let e = try parseTuple()
                guard case .varEnd = cur.kind else {
                    throw JinjaError("expected end of print statement, got \(describe(cur.kind)); close it with '}}'", line: line)
                }
                advance()
                out.append(.output(e, l))
            case .blockBegin:
                let l = line
                advance()
                guard case .name(let kw) = cur.kind else {
                    throw JinjaError("expected a statement name after '{%', got \(describe(cur.kind)); fix the tag", line: line)
                }
                if until.contains(kw) { return out }
                advance()
                out.append(try parseStatement(kw, l))
            case .eof:
                if !until.isEmpty {
                    let names = until.sorted().map { "'\($0)'" }.joined(separator: " or ")
                    throw JinjaError("unexpected end of template; jinja was looking for \(names); add the closing tag", line: line)
                }
                return out
            default:
                throw JinjaError("unexpected \(describe(cur.kind)); fix the template", line: line)
            }
        }
    }

    private mutating func parseStatement(_ kw: String, _ l: Int) throws -> Stmt {
        switch kw {
        case "if":
            var branches: [(Expr, [Stmt])] = []
            var cond = try parseTuple()
            try expectBlockEnd()
            while true {
                let body = try parseBody(until: ["elif", "else", "endif"])
                branches.append((cond, body))
                let k = try expectName()
                if k == "elif" { cond = try parseTuple(); try expectBlockEnd(); continue }
                if k == "else" {
                    try expectBlockEnd()
                    let els = try parseBody(until: ["endif"])
                    advance(); try expectBlockEnd()
                    return .ifs(branches, els)
                }
                try expectBlockEnd()
                return .ifs(branches, [])
            }
        case "for":
            let target = try parseAssignTarget()
            guard isName("in") else { throw JinjaError("expected 'in' in for loop, got \(describe(cur.kind)); write 'for x in items'", line: line) }
            advance()
            let iter = try parseTuple(noCondExpr: true)
            var filter: Expr?
            if isName("if") { advance(); filter = try parseExpression() }
            if isName("recursive") {
                throw JinjaError("recursive for loops are not supported; rewrite the loop with a macro", line: line)
            }
            try expectBlockEnd()
            let body = try parseBody(until: ["endfor", "else"])
            var els: [Stmt] = []
            if try expectName() == "else" {
                try expectBlockEnd()
                els = try parseBody(until: ["endfor"])
                advance()
            }
            try expectBlockEnd()
            return .forLoop(target, iter, filter, body, els, l)
        case "set":
            let target = try parseAssignTarget()
            if isOp("=") {
                advance()
                let v = try parseTuple()
                try expectBlockEnd()
                return .set(target, v, l)
            }
            try expectBlockEnd()
            let body = try parseBody(until: ["endset"])
            advance(); try expectBlockEnd()
            return .setBlock(target, body, l)
        case "macro":
            let name = try expectName()
            let params = try parseSignature()
            try expectBlockEnd()
            let body = try parseBody(until: ["endmacro"])
            advance()
            if case .name = cur.kind { advance() }
            try expectBlockEnd()
            return .macro(name, params, body, l)
        case "call":
            var params: [(String, Expr?)] = []
            if isOp("(") { params = try parseSignature() }
            let callee = try parseExpression()
            try expectBlockEnd()
            let body = try parseBody(until: ["endcall"])
            advance(); try expectBlockEnd()
            return .callBlock(callee, params, body, l)
        case "with":
            var bindings: [(String, Expr)] = []
            while !(cur.kind == .blockEnd) {
                if !bindings.isEmpty { try expectOp(",") }
                let n = try expectName()
                try expectOp("=")
                bindings.append((n, try parseExpression()))
            }
            try expectBlockEnd()
            let body = try parseBody(until: ["endwith"])
            advance(); try expectBlockEnd()
            return .with(bindings, body)
        case "generation":
            try expectBlockEnd()
            let body = try parseBody(until: ["endgeneration"])
            advance(); try expectBlockEnd()
            return .generation(body)
        case "break": try expectBlockEnd(); return .breakLoop
        case "continue": try expectBlockEnd(); return .continueLoop
        default:
            throw JinjaError("encountered unknown tag '\(kw)'; chat templates may use if, for, set, macro, call, with, generation, break, continue, raw", line: l)
        }
    }

    private mutating func parseSignature() throws -> [(String, Expr?)] {
        try expectOp("(")
        var params: [(String, Expr?)] = []
        while !isOp(")") {
            if !params.isEmpty { try expectOp(",") }
            if isOp(")") { break }
            let n = try expectName()
            var def: Expr?
            if isOp("=") { advance(); def = try parseExpression() }
            params.append((n, def))
        }
        advance()
        return params
    }

    private mutating func parseAssignTarget() throws -> Target {
        var names: [Target] = []
        repeat {
            if !names.isEmpty { advance() }
            if isOp("(") {
                advance()
                let inner = try parseAssignTarget()
                try expectOp(")")
                names.append(inner)
                continue
            }
            let n = try expectName()
            if isOp(".") {
                advance()
                names.append(.attr(n, try expectName()))
            } else {
                names.append(.name(n))
            }
        } while isOp(",")
        return names.count == 1 ? names[0] : .tuple(names)
    }

    /// A comma-separated expression list becomes a tuple (as in `{% set a, b = 1, 2 %}`).
    private mutating func parseTuple(noCondExpr: Bool = false) throws -> Expr {
        let first = noCondExpr ? try parseOr() : try parseExpression()
        guard isOp(",") else { return first }
        var items = [first]
        while isOp(",") {
            advance()
            if case .blockEnd = cur.kind { break }
            if case .varEnd = cur.kind { break }
            items.append(noCondExpr ? try parseOr() : try parseExpression())
        }
        return .tuple(items)
    }

    mutating func parseExpression() throws -> Expr {
        let e = try parseOr()
        if isName("if") {
            advance()
            let c = try parseOr()
            var els: Expr?
            if isName("else") { advance(); els = try parseExpression() }
            return .cond(c, e, els)
        }
        return e
    }

    private mutating func parseOr() throws -> Expr {
        var l = try parseAnd()
        while isName("or") { advance(); l = .or(l, try parseAnd()) }
        return l
    }

    private mutating func parseAnd() throws -> Expr {
        var l = try parseNot()
        while isName("and") { advance(); l = .and(l, try parseNot()) }
        return l
    }

    private mutating func parseNot() throws -> Expr {
        if isName("not") { advance(); return .not(try parseNot()) }
        return try parseCompare()
    }

    private mutating func parseCompare() throws -> Expr {
        let l = line
        let left = try parseMath1()
        var ops: [(String, Expr)] = []
        while true {
            if case .op(let o) = cur.kind, ["==", "!=", "<", ">", "<=", ">="].contains(o) {
                advance(); ops.append((o, try parseMath1()))
            } else if isName("in") {
                advance(); ops.append(("in", try parseMath1()))
            } else if isName("not"), p + 1 < toks.count, case .name("in") = toks[p + 1].kind {
                advance(); advance(); ops.append(("notin", try parseMath1()))
            } else { break }
        }
        return ops.isEmpty ? left : .compare(left, ops, l)
    }

    private mutating func parseMath1() throws -> Expr {
        var l = try parseConcat()
        while case .op(let o) = cur.kind, o == "+" || o == "-" {
            let ln = line
            advance(); l = .binary(o, l, try parseConcat(), ln)
        }
        return l
    }

    private mutating func parseConcat() throws -> Expr {
        var l = try parseMath2()
        while isOp("~") { let ln = line; advance(); l = .binary("~", l, try parseMath2(), ln) }
        return l
    }

    private mutating func parseMath2() throws -> Expr {
        var l = try parsePow()
        while case .op(let o) = cur.kind, ["*", "/", "//", "%"].contains(o) {
            let ln = line
            advance(); l = .binary(o, l, try parsePow(), ln)
        }
        return l
    }

    private mutating func parsePow() throws -> Expr {
        var l = try parseUnary()
        while isOp("**") { let ln = line; advance(); l = .binary("**", l, try parseUnary(), ln) }
        return l
    }

    private mutating func parseUnary(withFilter: Bool = true) throws -> Expr {
        let ln = line
        var node: Expr
        if isOp("-") { advance(); node = .unary("-", try parseUnary(withFilter: false), ln) }
        else if isOp("+") { advance(); node = .unary("+", try parseUnary(withFilter: false), ln) }
        else { node = try parsePrimary() }
        node = try parsePostfix(node)
        if withFilter { node = try parseFilterExpr(node) }
        return node
    }

    private mutating func parsePrimary() throws -> Expr {
        let ln = line
        switch cur.kind {
        case .name(let n):
            advance()
            switch n {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(n, ln)
            }
        case .string(var s):
            advance()
            while case .string(let more) = cur.kind { s += more; advance() }
            return .literal(.string(s))
        case .int(let i): advance(); return .literal(.int(i))
        case .float(let d): advance(); return .literal(.double(d))
        case .op("("):
            advance()
            if isOp(")") { advance(); return .tuple([]) }
            let first = try parseExpression()
            if isOp(")") { advance(); return first }
            var items = [first]
            while isOp(",") {
                advance()
                if isOp(")") { break }
                items.append(try parseExpression())
            }
            try expectOp(")")
            return .tuple(items)
        case .op("["):
            advance()
            var items: [Expr] = []
            while !isOp("]") {
                if !items.isEmpty { try expectOp(","); if isOp("]") { break } }
                items.append(try parseExpression())
            }
            advance()
            return .list(items)
        case .op("{"):
            advance()
            var pairs: [(Expr, Expr)] = []
            while !isOp("}") {
                if !pairs.isEmpty { try expectOp(","); if isOp("}") { break } }
                let k = try parseExpression()
                try expectOp(":")
                pairs.append((k, try parseExpression()))
            }
            advance()
            return .dict(pairs)
        default:
            throw JinjaError("unexpected \(describe(cur.kind)) in expression; fix the expression", line: ln)
        }
    }

    private mutating func parsePostfix(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            let ln = line
            if isOp(".") {
                advance()
                switch cur.kind {
                case .name(let n): advance(); node = .attr(node, n, ln)
                case .int(let i): advance(); node = .item(node, .literal(.int(i)), ln)
                default: throw JinjaError("expected an attribute name after '.', got \(describe(cur.kind)); fix the expression", line: ln)
                }
            } else if isOp("[") {
                advance()
                node = try parseSubscript(node, ln)
            } else if isOp("(") {
                let (a, k) = try parseCallArgs()
                node = .call(node, a, k, ln)
            } else {
                return node
            }
        }
    }

    private mutating func parseSubscript(_ obj: Expr, _ ln: Int) throws -> Expr {
        var parts: [Expr?] = []
        var cur: Expr? = nil
        var isSlice = false
        while !isOp("]") {
            if isOp(":") { isSlice = true; parts.append(cur); cur = nil; advance(); continue }
            cur = try parseExpression()
        }
        advance()
        if !isSlice {
            guard let c = cur else { throw JinjaError("empty subscript '[]'; put an index or key inside", line: ln) }
            return .item(obj, c, ln)
        }
        parts.append(cur)
        while parts.count < 3 { parts.append(nil) }
        return .slice(obj, parts[0], parts[1], parts[2], ln)
    }

    private mutating func parseCallArgs() throws -> ([Expr], [(String, Expr)]) {
        try expectOp("(")
        var args: [Expr] = []
        var kwargs: [(String, Expr)] = []
        while !isOp(")") {
            if !args.isEmpty || !kwargs.isEmpty { try expectOp(","); if isOp(")") { break } }
            if case .name(let n) = cur.kind, p + 1 < toks.count, case .op("=") = toks[p + 1].kind {
                advance(); advance()
                kwargs.append((n, try parseExpression()))
            } else {
                args.append(try parseExpression())
            }
        }
        advance()
        return (args, kwargs)
    }

    private mutating func parseFilterExpr(_ start: Expr) throws -> Expr {
        var node = start
        while true {
            let ln = line
            if isOp("|") {
                advance()
                var name = try expectName()
                while isOp(".") { advance(); name += "." + (try expectName()) }
                var args: [Expr] = [], kwargs: [(String, Expr)] = []
                if isOp("(") { (args, kwargs) = try parseCallArgs() }
                node = .filter(node, name, args, kwargs, ln)
            } else if isName("is") {
                advance()
                var negated = false
                if isName("not") { advance(); negated = true }
                var name = try expectName()
                while isOp(".") { advance(); name += "." + (try expectName()) }
                var args: [Expr] = []
                if isOp("(") {
                    args = try parseCallArgs().0
                } else {
                    switch cur.kind {
                    case .name(let n) where !["else", "or", "and", "if", "in", "not", "is"].contains(n):
                        args = [try parsePostfix(try parsePrimary())]
                    case .string, .int, .float, .op("["), .op("{"):
                        args = [try parsePostfix(try parsePrimary())]
                    default: break
                    }
                }
                node = .test(node, name, args, negated, ln)
            } else {
                return node
            }
        }
    }
}
