import Foundation
import OrderedCollections

/// Globals transformers' environment provides: jinja2's `range`, `dict`, `namespace`, `lipsum`-free set,
/// plus transformers' `raise_exception` and `strftime_now` (chat_template_utils.py, 5.24).
extension Builtins {
    static var globals: [String: JValue] { [
        "range": .callable(Callable(name: "range") { a, _, _, _ in
            let ints = try a.map { v -> Int in
                guard let i = v.intLike else { throw JinjaError("'\(v.pyType)' object cannot be interpreted as an integer") }
                return i
            }
            var start = 0, stop = 0, step = 1
            switch ints.count {
            case 1: stop = ints[0]
            case 2: start = ints[0]; stop = ints[1]
            case 3: start = ints[0]; stop = ints[1]; step = ints[2]
            default: throw JinjaError("range expected 1 to 3 integer arguments, got \(ints.count)")
            }
            guard step != 0 else { throw JinjaError("range() arg 3 must not be zero") }
            guard (stop - start) / step < 100_000 else { throw JinjaError("Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).") }
            return .list(Array(stride(from: start, to: stop, by: step)).map { .int($0) })
        }),
        "dict": .callable(Callable(name: "dict") { a, k, interp, _ in
            var d: OrderedDictionary<String, JValue> = [:]
            if let first = a.first {
                if case .dict(let src) = first { d = src.items } else {
                    for pair in try interp.iterate(first) {
                        let kv = try interp.iterate(pair)
                        guard kv.count == 2 else { throw JinjaError("dictionary update sequence element has length \(kv.count); 2 is required") }
                        d[kv[0].str] = kv[1]
                    }
                }
            }
            for (key, v) in k { d[key] = v }
            return .dict(DictBox(d))
        }),
        "namespace": .callable(Callable(name: "namespace") { a, k, _, _ in
            var d: OrderedDictionary<String, JValue> = [:]
            if case .dict(let src)? = a.first { d = src.items }
            for (key, v) in k {
                if key.hasPrefix("_") {
                    throw JinjaError("Chat templates cannot store underscore-prefixed attributes on a namespace, but got '\(key)'. Please rename the attribute.")
                }
                d[key] = v
            }
            return .namespace(DictBox(d))
        }),
        "raise_exception": .callable(Callable(name: "raise_exception") { a, k, _, _ in
            throw JinjaError((a.first ?? k.first?.1 ?? .none).str)
        }),
        "strftime_now": .callable(Callable(name: "strftime_now") { a, _, _, _ in
            guard case .string(let fmt)? = a.first else { throw JinjaError("strftime_now needs a format string such as '%d %b %Y'") }
            var t = time(nil)
            var tmv = tm()
            localtime_r(&t, &tmv)
            var buf = [Int8](repeating: 0, count: 512)
            let n = strftime(&buf, buf.count, fmt, &tmv)
            return .string(String(decoding: buf[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }),
    ] }
}
