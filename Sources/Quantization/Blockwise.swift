/// bitsandbytes' blockwise quantizers on CPU, reproduced exactly: absmax per block of `blocksize` consecutive
/// (row-major) elements, values scaled by the reciprocal of their block's absmax, then mapped to the nearest code.
public enum FourBitType: String, Sendable, CaseIterable {
    case nf4, fp4

    /// Values the quantizer rounds to (code order).
    var code: [Float] { self == .nf4 ? Codebook.nf4 : Codebook.fp4 }
    /// Values the decoder writes (code order).
    public var decodeTable: [Float] { self == .nf4 ? Codebook.nf4 : Codebook.fp4Decode }
}

public enum Blockwise {
    /// 4-bit quantization (the default `quantize_4bit` kernel bitsandbytes runs on CPU): `scaled = clamp(x · (1 /
    /// max(absmax, 1e-38)), −1, 1)`, code = number of sorted-code midpoints below `scaled` (torch.bucketize), two codes
    /// per byte with the first element in the high nibble. Returns the packed bytes and one absmax per block.
    public static func quantize4bit(_ x: UnsafeBufferPointer<Float>, type: FourBitType, blocksize: Int) -> (packed: [UInt8], absmax: [Float]) {
        let n = x.count, blocks = (n + blocksize - 1) / blocksize
        let code = type.code
        let order = code.indices.sorted { code[$0] < code[$1] || (code[$0] == code[$1] && $0 < $1) }
        let midpoints = (0..<15).map { (code[order[$0]] + code[order[$0 + 1]]) / 2 }
        var absmax = [Float](repeating: 0, count: blocks)
        var packed = [UInt8](repeating: 0, count: (n + 1) / 2)
        for b in 0..<blocks {
            let lo = b * blocksize, hi = min(n, lo + blocksize)
            var m: Float = 0
            for i in lo..<hi { m = max(m, abs(x[i])) }
            absmax[b] = m
            let inverse = 1 / max(m, 1e-38)
            for i in lo..<hi {
                let scaled = min(max(x[i] * inverse, -1), 1)
                var q = 0
                while q < 15 && midpoints[q] < scaled { q += 1 }
                let nibble = UInt8(order[q])
                packed[i >> 1] |= i & 1 == 0 ? nibble << 4 : nibble
            }
        }
        return (packed, absmax)
    }

    /// 8-bit blockwise quantization with a sorted 256-entry code (bitsandbytes' C kernel `quantize_cpu`): the code
    /// index comes from a 65,536-bin lookup table over [−1, 1] built from the code's midpoints; an all-zero block
    /// stores zeros.
    public static func quantize8bit(_ x: [Float], code: [Float], blocksize: Int) -> (q: [UInt8], absmax: [Float]) {
        let lut = lookupTable(code)
        let n = x.count, blocks = (n + blocksize - 1) / blocksize
        var q = [UInt8](repeating: 0, count: n), absmax = [Float](repeating: 0, count: blocks)
        for b in 0..<blocks {
            let lo = b * blocksize, hi = min(n, lo + blocksize)
            var m: Float = 0
            for i in lo..<hi { m = max(m, abs(x[i])) }
            absmax[b] = m
            guard m != 0 else { continue }
            let inverse = 1 / m
            for i in lo..<hi {
                let v = min(max(x[i] * inverse, -1), 1)
                q[i] = lut[Int(UInt16((v + 1) * 0.5 * 65535 + 0.5))]
            }
        }
        return (q, absmax)
    }

    static func lookupTable(_ code: [Float]) -> [UInt8] {
        let midpoints = (0..<255).map { 0.5 * (code[$0] + code[$0 + 1]) }
        var lut = [UInt8](repeating: 0, count: 65536)
        var index = 0
        for i in 0..<65536 {
            let v = -1 + (2 * Float(i)) / 65535
            while index < 255 && midpoints[index] < v { index += 1 }
            lut[i] = UInt8(index)
        }
        return lut
    }

    /// `code[q] · absmax[block]`, as bitsandbytes' `dequantize_blockwise`.
    public static func dequantize8bit(_ q: [UInt8], absmax: [Float], code: [Float], blocksize: Int) -> [Float] {
        q.indices.map { code[Int(q[$0])] * absmax[$0 / blocksize] }
    }
}
