/// One lexical token of a template, with the 1-based line where it starts.
struct Token {
    enum Kind: Equatable {
        case text(String)
        case blockBegin, blockEnd, varBegin, varEnd
        case name(String)
        case string(String)
        case int(Int)
        case float(Double)
        case op(String)
        case eof
    }
    var kind: Kind
    var line: Int
}

/// Splits template source into text and tag tokens, applying jinja2's whitespace rules as transformers
/// configures them: `trim_blocks=True`, `lstrip_blocks=True`, `keep_trailing_newline=False`
/// (jinja2 3.1 lexer.py `tokeniter`).
struct Lexer {
    private let s: [UInt8]
    private var i = 0
    private var line = 1
    private var tokens: [Token] = []
    /// jinja2's `line_starting`: the previous tag consumed a newline, or we are at the start.
    private var lineStarting = true
    /// Strip leading whitespace of the next text (after `-%}`).
    private var stripNext = false

    init(_ source: String) {
        var text = source.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        if text.hasSuffix("\n") { text.removeLast() }
        s = Array(text.utf8)
    }

    static func tokenize(_ source: String) throws -> [Token] {
        var lexer = Lexer(source)
        try lexer.run()
        return lexer.tokens
    }

    private func at(_ lit: String, _ p: Int) -> Bool {
        var k = p
        for b in lit.utf8 {
            if k >= s.count || s[k] != b { return false }
            k += 1
        }
        return true
    }

    private static func isSpace(_ b: UInt8) -> Bool { b == 32 || b == 9 || b == 10 || b == 13 || b == 11 || b == 12 }

    private mutating func emitText(_ bytesIn: ArraySlice<UInt8>, nextTag: UInt8?, modifier: UInt8?) {
        var bytes = bytesIn
        if stripNext {
            while let f = bytes.first, Lexer.isSpace(f) { bytes.removeFirst() }
            stripNext = false
        }
        if modifier == UInt8(ascii: "-") {
            while let l = bytes.last, Lexer.isSpace(l) { bytes.removeLast() }
        } else if let tag = nextTag, tag != UInt8(ascii: "{"), modifier != UInt8(ascii: "+") {
            // lstrip_blocks: drop spaces/tabs between the line start and a `{%` or `{#`.
            var lpos = bytes.endIndex
            while lpos > bytes.startIndex, bytes[lpos - 1] != 10 { lpos -= 1 }
            let hasNewline = lpos > bytes.startIndex
            if hasNewline || lineStarting {
                if lpos < bytes.endIndex, bytes[lpos...].allSatisfy({ Lexer.isSpace($0) }) {
                    bytes = bytes[bytes.startIndex..<lpos]
                }
            }
        }
        if !bytes.isEmpty {
            let startLine = line - bytes.reduce(0) { $0 + ($1 == 10 ? 1 : 0) }
            tokens.append(Token(kind: .text(String(decoding: bytes, as: UTF8.self)), line: startLine))
        }
    }

    private mutating func run() throws {
        var textStart = 0
        while i < s.count {
            if s[i] == UInt8(ascii: "{"), i + 1 < s.count,
               s[i + 1] == UInt8(ascii: "{") || s[i + 1] == UInt8(ascii: "%") || s[i + 1] == UInt8(ascii: "#") {
                let kind = s[i + 1]
                let mod: UInt8? = (i + 2 < s.count && (s[i + 2] == UInt8(ascii: "-") || s[i + 2] == UInt8(ascii: "+"))) ? s[i + 2] : nil
                emitText(s[textStart..<i], nextTag: kind, modifier: mod)
                let tagLine = line
                i += mod == nil ? 2 : 3
                if kind == UInt8(ascii: "#") {
                    try lexComment(tagLine)
                } else {
                    tokens.append(Token(kind: kind == UInt8(ascii: "{") ? .varBegin : .blockBegin, line: tagLine))
                    try lexTag(isBlock: kind == UInt8(ascii: "%"))
                }
                textStart = i
                continue
            }
            if s[i] == 10 { line += 1 }
            i += 1
        }
        emitText(s[textStart..<s.count], nextTag: nil, modifier: nil)
        tokens.append(Token(kind: .eof, line: line))
    }

    /// After a block or comment end: apply `-` (strip following whitespace) or trim_blocks (one newline).
    private mutating func afterTagEnd(minus: Bool, plus: Bool, trims: Bool) {
        lineStarting = false
        if minus { stripNext = true; return }
        if trims && !plus && i < s.count && s[i] == 10 {
            i += 1
            line += 1
            lineStarting = true
        }
    }

    private mutating func lexComment(_ startLine: Int) throws {
        while i < s.count {
            if at("#}", i) || at("-#}", i) || at("+#}", i) {
                let minus = s[i] == UInt8(ascii: "-"), plus = s[i] == UInt8(ascii: "+")
                i += (minus || plus) ? 3 : 2
                afterTagEnd(minus: minus, plus: plus, trims: true)
                return
            }
            if s[i] == 10 { line += 1 }
            i += 1
        }
        throw JinjaError("missing end of comment tag '#}'; close the comment", line: startLine)
    }

    private mutating func lexTag(isBlock: Bool) throws {
        let startLine = line
        let close = isBlock ? "%}" : "}}"
        // Open brackets: `}}` inside `{'a': {'b': 1}}` closes dicts, not the tag (jinja2 tracks balance too).
        var depth = 0
        while true {
            while i < s.count, Lexer.isSpace(s[i]) {
                if s[i] == 10 { line += 1 }
                i += 1
            }
            guard i < s.count else {
                throw JinjaError("unexpected end of template, expected '\(close)' to close the tag; add it", line: startLine)
            }
            let minus = at("-" + close, i), plus = at("+" + close, i)
            if depth == 0, minus || plus || at(close, i) {
                i += (minus || plus) ? 3 : 2
                tokens.append(Token(kind: isBlock ? .blockEnd : .varEnd, line: line))
                afterTagEnd(minus: minus, plus: plus, trims: isBlock)
                if isBlock, tokens.count >= 3, case .name("raw") = tokens[tokens.count - 2].kind,
                   case .blockBegin = tokens[tokens.count - 3].kind {
                    tokens.removeLast(3)
                    try lexRaw(startLine)
                }
                return
            }
            let c = s[i]
            if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
                tokens.append(Token(kind: .string(try lexString(quote: c)), line: line))
            } else if c >= 48 && c <= 57 {
                tokens.append(Token(kind: lexNumber(), line: line))
            } else if c == UInt8(ascii: "_") || (c | 0x20 >= 97 && c | 0x20 <= 122) {
                let st = i
                while i < s.count, s[i] == UInt8(ascii: "_") || (s[i] | 0x20 >= 97 && s[i] | 0x20 <= 122) || (s[i] >= 48 && s[i] <= 57) { i += 1 }
                tokens.append(Token(kind: .name(String(decoding: s[st..<i], as: UTF8.self)), line: line))
            } else {
                var matched: String?
                for op in ["//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "(", ")", "[", "]", "{", "}",
                           ",", ".", ":", "|", "=", "<", ">"] where at(op, i) {
                    matched = op
                    break
                }
                guard let op = matched else {
                    throw JinjaError("unexpected character '\(String(decoding: [c], as: UTF8.self))' in tag; remove it", line: line)
                }
                i += op.utf8.count
                if op == "(" || op == "[" || op == "{" { depth += 1 }
                if (op == ")" || op == "]" || op == "}") && depth > 0 { depth -= 1 }
                tokens.append(Token(kind: .op(op), line: line))
            }
        }
    }

    /// `{% raw %}…{% endraw %}`: everything between is literal text.
    private mutating func lexRaw(_ startLine: Int) throws {
        var j = i
        while j < s.count {
            if at("{%", j) {
                var k = j + 2
                var preMinus = false
                if k < s.count, s[k] == UInt8(ascii: "-") || s[k] == UInt8(ascii: "+") { preMinus = s[k] == UInt8(ascii: "-"); k += 1 }
                while k < s.count, Lexer.isSpace(s[k]) { k += 1 }
                if at("endraw", k) {
                    k += 6
                    while k < s.count, Lexer.isSpace(s[k]) { k += 1 }
                    let minus = at("-%}", k), plus = at("+%}", k)
                    if minus || plus || at("%}", k) {
                        var body = s[i..<j]
                        if stripNext { while let f = body.first, Lexer.isSpace(f) { body.removeFirst() }; stripNext = false }
                        if preMinus { while let l = body.last, Lexer.isSpace(l) { body.removeLast() } }
                        if !body.isEmpty { tokens.append(Token(kind: .text(String(decoding: body, as: UTF8.self)), line: line)) }
                        for b in s[i..<k] where b == 10 { line += 1 }
                        i = k + ((minus || plus) ? 3 : 2)
                        afterTagEnd(minus: minus, plus: plus, trims: true)
                        return
                    }
                }
            }
            j += 1
        }
        throw JinjaError("missing '{% endraw %}' for this raw block; add it", line: startLine)
    }

    private mutating func lexNumber() -> Token.Kind {
        let st = i
        var isFloat = false
        while i < s.count, (s[i] >= 48 && s[i] <= 57) || s[i] == UInt8(ascii: "_") { i += 1 }
        if i + 1 < s.count, s[i] == UInt8(ascii: "."), s[i + 1] >= 48 && s[i + 1] <= 57 {
            isFloat = true
            i += 1
            while i < s.count, (s[i] >= 48 && s[i] <= 57) || s[i] == UInt8(ascii: "_") { i += 1 }
        }
        if i < s.count, s[i] == UInt8(ascii: "e") || s[i] == UInt8(ascii: "E") {
            var k = i + 1
            if k < s.count, s[k] == UInt8(ascii: "+") || s[k] == UInt8(ascii: "-") { k += 1 }
            if k < s.count, s[k] >= 48 && s[k] <= 57 {
                isFloat = true
                i = k
                while i < s.count, s[i] >= 48 && s[i] <= 57 { i += 1 }
            }
        }
        let text = String(decoding: s[st..<i].filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
        if isFloat { return .float(Double(text) ?? 0) }
        return Int(text).map { .int($0) } ?? .float(Double(text) ?? 0)
    }

    /// Python `unicode-escape` decoding of a string literal; unknown escapes keep their backslash.
    private mutating func lexString(quote: UInt8) throws -> String {
        let startLine = line
        i += 1
        var out: [UInt8] = []
        func appendScalar(_ v: UInt32, _ out: inout [UInt8]) {
            if let u = Unicode.Scalar(v) { out.append(contentsOf: Array(String(Character(u)).utf8)) }
        }
        while i < s.count {
            let c = s[i]
            if c == quote { i += 1; return String(decoding: out, as: UTF8.self) }
            if c == 10 { line += 1 }
            if c == UInt8(ascii: "\\"), i + 1 < s.count {
                let e = s[i + 1]
                i += 2
                switch e {
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "v"): out.append(11)
                case UInt8(ascii: "a"): out.append(7)
                case UInt8(ascii: "0")...UInt8(ascii: "7"):
                    var v = UInt32(e - 48)
                    var n = 1
                    while n < 3, i < s.count, s[i] >= 48 && s[i] <= 55 { v = v * 8 + UInt32(s[i] - 48); i += 1; n += 1 }
                    appendScalar(v, &out)
                case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): out.append(e)
                case 10: line += 1
                case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
                    let n = e == UInt8(ascii: "x") ? 2 : (e == UInt8(ascii: "u") ? 4 : 8)
                    guard i + n <= s.count, let v = UInt32(String(decoding: s[i..<(i + n)], as: UTF8.self), radix: 16) else {
                        throw JinjaError("truncated escape in string literal; write all its hex digits", line: line)
                    }
                    i += n
                    appendScalar(v, &out)
                default: out.append(UInt8(ascii: "\\")); out.append(e)
                }
                continue
            }
            out.append(c)
            i += 1
        }
        throw JinjaError("unterminated string literal; close it with its quote", line: startLine)
    }
}
