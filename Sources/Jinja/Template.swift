import Values

/// A parsed chat template: parse once, render many times, as transformers caches `_compile_jinja_template`.
public struct Template: @unchecked Sendable {
    let body: [Stmt]

    /// Parses `source`; throws `JinjaError` (with line) on a syntax error.
    public init(_ source: String) throws {
        body = try Parser.parse(source)
    }

    /// Renders with `context` as the template's variables.
    public func render(_ context: [String: Value]) throws -> String {
        try renderWithGenerationSpans(context).text
    }

    /// Renders and also returns the UTF-8 byte ranges of the text produced inside `{% generation %}` blocks,
    /// which transformers uses for `return_assistant_tokens_mask`.
    public func renderWithGenerationSpans(_ context: [String: Value]) throws -> (text: String, generationSpans: [Range<Int>]) {
        let interp = Interpreter(context: context.mapValues(JValue.init))
        interp.frames.append([:])
        do {
            let flow = try interp.execute(body)
            _ = flow
        }
        return (interp.out, interp.spans)
    }
}
