/// Incremental SHA-1 (FIPS 180-4), only for git blob ids: the Hub's ETag of a git-stored (non-LFS) file is
/// `sha1("blob <size>\0" + content)`, so checking it catches corrupted small files (config, tokenizer, README).
struct SHA1 {
    private var h: (UInt32, UInt32, UInt32, UInt32, UInt32) = (0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0)
    private var buffer = [UInt8](repeating: 0, count: 64)
    private var used = 0
    private var length: UInt64 = 0

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        length &+= UInt64(bytes.count)
        var i = 0
        while i < bytes.count {
            if used == 0 && bytes.count - i >= 64 {
                block(UnsafeRawBufferPointer(rebasing: bytes[i..<(i + 64)]))
                i += 64
                continue
            }
            let n = min(64 - used, bytes.count - i)
            for k in 0..<n { buffer[used + k] = bytes[i + k] }
            used += n; i += n
            if used == 64 {
                let full = buffer
                full.withUnsafeBytes { block($0) }
                used = 0
            }
        }
    }

    mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    private mutating func block(_ p: UnsafeRawBufferPointer) {
        var w = [UInt32](repeating: 0, count: 80)
        for t in 0..<16 {
            w[t] = UInt32(p[4 * t]) << 24 | UInt32(p[4 * t + 1]) << 16 | UInt32(p[4 * t + 2]) << 8 | UInt32(p[4 * t + 3])
        }
        for t in 16..<80 {
            let x = w[t - 3] ^ w[t - 8] ^ w[t - 14] ^ w[t - 16]
            w[t] = x << 1 | x >> 31
        }
        var (a, b, c, d, e) = h
        for t in 0..<80 {
            let f: UInt32, k: UInt32
            switch t {
            case 0..<20: f = (b & c) | (~b & d); k = 0x5A827999
            case 20..<40: f = b ^ c ^ d; k = 0x6ED9EBA1
            case 40..<60: f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDC
            default: f = b ^ c ^ d; k = 0xCA62C1D6
            }
            let temp = (a << 5 | a >> 27) &+ f &+ e &+ k &+ w[t]
            e = d; d = c; c = b << 30 | b >> 2; b = a; a = temp
        }
        h = (h.0 &+ a, h.1 &+ b, h.2 &+ c, h.3 &+ d, h.4 &+ e)
    }

    mutating func hexDigest() -> String {
        let bits = length &* 8
        var tail: [UInt8] = [0x80] + [UInt8](repeating: 0, count: (119 - used) % 64)
        for s in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bits >> UInt64(s))) }
        let saved = length
        update(tail)
        length = saved
        return [h.0, h.1, h.2, h.3, h.4].map { String($0, radix: 16).leftPadded(8) }.joined()
    }
}

/// The git blob id of a file being streamed: sha1 over `blob <size>\0` and then the content.
struct GitBlobHasher {
    private var sha = SHA1()
    init(size: Int) { sha.update(Array("blob \(size)\0".utf8)) }
    mutating func update(_ bytes: UnsafeRawBufferPointer) { sha.update(bytes) }
    mutating func hexDigest() -> String { sha.hexDigest() }

    static func hex(_ content: [UInt8]) -> String {
        var g = GitBlobHasher(size: content.count)
        content.withUnsafeBytes { g.update($0) }
        return g.hexDigest()
    }
}
