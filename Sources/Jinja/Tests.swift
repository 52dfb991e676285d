/// jinja2's builtin tests (tests.py, 3.1), used by `is`, `select` and `selectattr`.
extension Builtins {
    static func test(_ name: String, _ v: JValue, _ a: [JValue]) throws -> Bool {
        switch name {
        case "defined": return !v.isUndefined
        case "undefined": return v.isUndefined
        case "none": if case .none = v { return true }; return false
        case "string": if case .string = v { return true }; return false
        case "mapping": if case .dict = v { return true }; return false
        case "boolean": if case .bool = v { return true }; return false
        case "true": if case .bool(true) = v { return true }; return false
        case "false": if case .bool(false) = v { return true }; return false
        case "integer": if case .int = v { return true }; return false
        case "float": if case .double = v { return true }; return false
        case "number": return v.number != nil
        case "sequence":
            switch v {
            case .string, .list, .tuple, .dict: return true
            default: return false
            }
        case "iterable":
            switch v {
            case .string, .list, .tuple, .dict, .undefined: return true
            default: return false
            }
        case "callable":
            switch v {
            case .callable: return true
            default: return false
            }
        case "odd", "even":
            guard let i = v.intLike else { throw JinjaError("'\(v.pyType)' is not an integer; the \(name) test needs an integer") }
            return (abs(i) % 2 == 1) == (name == "odd")
        case "divisibleby":
            guard let i = v.intLike, let n = a.first?.intLike else { throw JinjaError("divisibleby needs integers") }
            guard n != 0 else { throw JinjaError("integer division or modulo by zero") }
            return i % n == 0
        case "eq", "equalto", "==": return pyEqual(v, try one(a, name))
        case "ne", "!=": return !pyEqual(v, try one(a, name))
        case "lt", "lessthan", "<": return try compare("<", v, try one(a, name))
        case "le", "<=": return try compare("<=", v, try one(a, name))
        case "gt", "greaterthan", ">": return try compare(">", v, try one(a, name))
        case "ge", ">=": return try compare(">=", v, try one(a, name))
        case "in": return try contains(try one(a, name), v)
        case "sameas":
            let o = try one(a, name)
            switch (v, o) {
            case (.none, .none): return true
            case (.bool(let x), .bool(let y)): return x == y
            case (.list(let x), .list(let y)): return x === y
            case (.dict(let x), .dict(let y)): return x === y
            default: return false
            }
        case "lower": if case .string(let s) = v { return s.lowercased() == s }; return false
        case "upper": if case .string(let s) = v { return s.uppercased() == s }; return false
        default: throw JinjaError("No test named '\(name)'; use one of jinja2's builtin tests")
        }
    }

    private static func one(_ a: [JValue], _ name: String) throws -> JValue {
        guard let x = a.first else { throw JinjaError("the '\(name)' test needs one argument") }
        return x
    }
}
