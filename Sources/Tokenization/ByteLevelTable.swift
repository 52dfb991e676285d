/// GPT-2's byte ↔ printable-character table used by ByteLevel pre-tokenizer and decoder.
enum ByteLevelTable {
    static let byteToChar: [Unicode.Scalar] = {
        var bs: [Int] = Array(33...126) + Array(161...172) + Array(174...255)
        var cs = bs
        var n = 0
        for b in 0..<256 where !bs.contains(b) { bs.append(b); cs.append(256 + n); n += 1 }
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        for (b, c) in zip(bs, cs) { table[b] = Unicode.Scalar(UInt32(c))! }
        return table
    }()
    static let charToByte: [Unicode.Scalar: UInt8] = {
        var d: [Unicode.Scalar: UInt8] = [:]
        for (b, c) in byteToChar.enumerated() { d[c] = UInt8(b) }
        return d
    }()
    static let gpt2Pattern = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
}
