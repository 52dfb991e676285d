import Values

/// Validation of the JSON header against the format's rules, before any offset is trusted.
enum SafeTensorsHeader {
    struct Parsed { var metadata: [String: String]; var infos: [TensorInfo] }

    static func parse(_ bytes: UnsafeRawBufferPointer, dataLength: Int, fail: (String) -> WeightFileError) throws -> Parsed {
        let value: Value
        do { value = try JSON.parse(bytes: bytes) } catch {
            throw fail("header is not valid JSON (\(error)); the file is corrupt, download it again")
        }
        guard case .object(let obj) = value else { throw fail("header is not a JSON object; the file is corrupt, download it again") }
        if let dup = duplicateTopLevelKey(bytes) {
            throw fail("tensor name \"\(dup)\" appears twice in the header; the writer was faulty, re-save the checkpoint")
        }
        var metadata: [String: String] = [:]
        var infos: [TensorInfo] = []
        for (key, entry) in obj {
            if key == "__metadata__" {
                guard case .object(let m) = entry else { throw fail("__metadata__ is not an object of strings; re-save the checkpoint") }
                for (k, v) in m {
                    guard case .string(let s) = v else { throw fail("__metadata__ value for \"\(k)\" is not a string; re-save the checkpoint") }
                    metadata[k] = s
                }
                continue
            }
            guard case .object(let t) = entry else { throw fail("entry for tensor \"\(key)\" is not an object; the file is corrupt") }
            guard let ds = t["dtype"]?.stringValue else { throw fail("tensor \"\(key)\" has no dtype; the file is corrupt") }
            guard let dtype = DType(rawValue: ds) else {
                throw fail("tensor \"\(key)\" has unknown dtype \"\(ds)\"; supported: \(DType.allCases.map(\.rawValue).joined(separator: ", ")); convert the checkpoint to one of these")
            }
            guard let sa = t["shape"]?.arrayValue else { throw fail("tensor \"\(key)\" has no shape array; the file is corrupt") }
            var shape: [Int] = []
            for d in sa {
                guard let n = d.intValue, n >= 0 else { throw fail("tensor \"\(key)\" has a negative or non-integer dimension in its shape; the file is corrupt") }
                shape.append(n)
            }
            guard let oa = t["data_offsets"]?.arrayValue, oa.count == 2, let lo = oa[0].intValue, let hi = oa[1].intValue else {
                throw fail("tensor \"\(key)\" has no [begin, end] data_offsets; the file is corrupt")
            }
            guard lo >= 0, lo <= hi, hi <= dataLength else {
                throw fail("tensor \"\(key)\" data_offsets [\(lo), \(hi)] are out of bounds of the \(dataLength)-byte data area; the file is truncated or corrupt, download it again")
            }
            let (count, o1) = shape.reduce((1, false)) { acc, d in let r = acc.0.multipliedReportingOverflow(by: d); return (r.partialValue, acc.1 || r.overflow) }
            let (expected, o2) = count.multipliedReportingOverflow(by: dtype.size)
            guard !o1, !o2, expected == hi - lo else {
                throw fail("tensor \"\(key)\" is \(hi - lo) bytes but shape \(shape) of \(dtype.rawValue) needs \(expected); the file is corrupt, re-save it")
            }
            infos.append(TensorInfo(name: key, dtype: dtype, shape: shape, byteRange: lo..<hi))
        }
        infos.sort { ($0.byteRange.lowerBound, $0.byteRange.upperBound) < ($1.byteRange.lowerBound, $1.byteRange.upperBound) }
        var end = 0
        for t in infos {
            if t.byteRange.lowerBound < end {
                throw fail("tensor \"\(t.name)\" data_offsets overlap the previous tensor's bytes (\(t.byteRange.lowerBound) < \(end)); the file is corrupt, re-save it")
            }
            if t.byteRange.lowerBound > end {
                throw fail("hole in the data area: bytes \(end)..<\(t.byteRange.lowerBound) belong to no tensor (before \"\(t.name)\"); the file is corrupt, re-save it")
            }
            end = t.byteRange.upperBound
        }
        if end != dataLength {
            throw fail("data area is \(dataLength) bytes but tensors cover only \(end); trailing bytes belong to no tensor, re-save the checkpoint")
        }
        return Parsed(metadata: metadata, infos: infos)
    }

    /// The Values parser keeps the last duplicate key, so duplicates are found by scanning the top-level keys here.
    static func duplicateTopLevelKey(_ b: UnsafeRawBufferPointer) -> String? {
        var seen = Set<String>()
        var depth = 0
        var i = 0
        var expectKey = false
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                var j = i + 1
                var s: [UInt8] = []
                while j < b.count, b[j] != UInt8(ascii: "\"") {
                    if b[j] == UInt8(ascii: "\\"), j + 1 < b.count { s.append(b[j]); j += 1 }
                    s.append(b[j]); j += 1
                }
                if depth == 1 && expectKey {
                    let k = String(decoding: s, as: UTF8.self)
                    if !seen.insert(k).inserted { return k }
                    expectKey = false
                }
                i = j + 1
                continue
            }
            switch c {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth == 1 { expectKey = true }
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            case UInt8(ascii: ","): if depth == 1 { expectKey = true }
            default: break
            }
            i += 1
        }
        return nil
    }
}
