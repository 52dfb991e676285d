import CPCRE2

/// A compiled PCRE2 pattern (UTF + UCP, as the Rust `onig`/`fancy-regex` patterns in tokenizer.json expect).
final class PCRERegex: @unchecked Sendable {
    let code: OpaquePointer
    /// Whether JIT compilation worked; then matching calls the JIT directly (no option checks, no UTF scan).
    let jit: Bool

    init(_ pattern: String) throws {
        var err: Int32 = 0
        var off: Int = 0
        let bytes = Array(pattern.utf8)
        guard let c = bytes.withUnsafeBufferPointer({ p in
            pcre2_compile_8(p.baseAddress, p.count, UInt32(PCRE2_UTF | PCRE2_UCP), &err, &off, nil)
        }) else {
            var buf = [UInt8](repeating: 0, count: 256)
            pcre2_get_error_message_8(err, &buf, 256)
            throw TokenizerError("regex \(pattern) does not compile at offset \(off): \(String(decoding: buf.prefix { $0 != 0 }, as: UTF8.self)); fix the pattern in tokenizer.json")
        }
        code = c
        jit = pcre2_jit_compile_8(c, UInt32(PCRE2_JIT_COMPLETE)) == 0
    }

    deinit { pcre2_code_free_8(code) }

    /// Non-empty match ranges over the scalar indices of `s`.
    func matches(_ s: NString) -> [Range<Int>] {
        var utf8: [UInt8] = []
        var byteToScalar: [Int] = []
        utf8.reserveCapacity(s.scalars.count); byteToScalar.reserveCapacity(s.scalars.count + 1)
        for (i, sc) in s.scalars.enumerated() {
            UTF8Scalars.append(sc, to: &utf8)
            while byteToScalar.count < utf8.count { byteToScalar.append(i) }
        }
        byteToScalar.append(s.scalars.count)
        guard let md = pcre2_match_data_create_from_pattern_8(code, nil) else { return [] }
        defer { pcre2_match_data_free_8(md) }
        var out: [Range<Int>] = []
        var start = 0
        utf8.withUnsafeBufferPointer { p in
            while start <= utf8.count {
                let subject = p.baseAddress ?? UnsafePointer(bitPattern: 1)
                // The subject is UTF-8 encoded here from scalars, so PCRE2's per-call validity scan is skipped.
                var rc = jit ? pcre2_jit_match_8(code, subject, utf8.count, start, 0, md, nil)
                    : pcre2_match_8(code, subject, utf8.count, start, UInt32(PCRE2_NO_UTF_CHECK), md, nil)
                // The JIT's small default stack can run out on very long inputs; the interpreter has no such limit.
                if rc < 0 && rc != PCRE2_ERROR_NOMATCH { rc = pcre2_match_8(code, subject, utf8.count, start, UInt32(PCRE2_NO_JIT | PCRE2_NO_UTF_CHECK), md, nil) }
                if rc < 0 { break }
                let ov = pcre2_get_ovector_pointer_8(md)!
                let a = ov[0], b = ov[1]
                if b > a { out.append(byteToScalar[a]..<byteToScalar[b]); start = b } else {
                    // Empty match: step one scalar forward.
                    var n = a + 1
                    while n < utf8.count && (utf8[n] & 0xC0) == 0x80 { n += 1 }
                    start = n
                }
            }
        }
        return out
    }
}
