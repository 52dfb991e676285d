/// Tensor element types of ggml, numbered as the GGUF format stores them.
public enum GGMLType: UInt32, Sendable, CaseIterable {
    case F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9
    case Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15
    case IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22, IQ4_XS = 23
    case I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30
    case TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39, NVFP4 = 40, Q1_0 = 41

    public var name: String { String(describing: self) }

    /// (elements per block, bytes per block), as in gguf-py's GGML_QUANT_SIZES; a row must hold whole blocks.
    public var blockLayout: (elements: Int, bytes: Int) {
        let k = 256
        switch self {
        case .F32: return (1, 4)
        case .F16, .BF16: return (1, 2)
        case .Q4_0: return (32, 2 + 16)
        case .Q4_1: return (32, 2 + 2 + 16)
        case .Q5_0: return (32, 2 + 4 + 16)
        case .Q5_1: return (32, 2 + 2 + 4 + 16)
        case .Q8_0: return (32, 2 + 32)
        case .Q8_1: return (32, 2 + 2 + 32)  // ggml's block_q8_1: two halves then 32 int8
        case .Q2_K: return (k, 2 + 2 + k / 16 + k / 4)
        case .Q3_K: return (k, 2 + k / 4 + k / 8 + 12)
        case .Q4_K: return (k, 2 + 2 + k / 2 + 12)
        case .Q5_K: return (k, 2 + 2 + k / 2 + k / 8 + 12)
        case .Q6_K: return (k, 2 + k / 2 + k / 4 + k / 16)
        case .Q8_K: return (k, 4 + k + k / 8)
        case .IQ2_XXS: return (k, 2 + k / 4)
        case .IQ2_XS: return (k, 2 + k / 4 + k / 32)
        case .IQ3_XXS: return (k, 2 + k / 4 + k / 8)
        case .IQ1_S: return (k, 2 + k / 8 + k / 16)
        case .IQ4_NL: return (32, 2 + 16)
        case .IQ3_S: return (k, 2 + k / 4 + k / 8 + k / 32 + 4)
        case .IQ2_S: return (k, 2 + k / 4 + k / 16)
        case .IQ4_XS: return (k, 2 + 2 + k / 2 + k / 64)
        case .I8: return (1, 1)
        case .I16: return (1, 2)
        case .I32: return (1, 4)
        case .I64, .F64: return (1, 8)
        case .IQ1_M: return (k, k / 8 + k / 16 + k / 32)
        case .TQ1_0: return (k, 2 + 4 * 13)
        case .TQ2_0: return (k, 2 + 64)
        case .MXFP4: return (32, 1 + 16)
        case .NVFP4: return (64, 4 + 32)
        case .Q1_0: return (128, 2 + 16)
        }
    }

    /// Types `GGUFDequantize.floats` can widen to float32.
    public static let dequantizable: [GGMLType] = [.F32, .F16, .BF16, .F64, .I8, .I16, .I32, .Q4_0, .Q4_1, .Q5_0, .Q5_1, .Q8_0,
                                                   .Q2_K, .Q3_K, .Q4_K, .Q5_K, .Q6_K, .Q8_K]
}

/// Block dequantization to float32, bit for bit what gguf-py's `gguf.quants.dequantize` returns: each product and sum is
/// one float32 operation in the same order as its numpy expression (Swift does not fuse multiply-add unless asked).
public enum GGUFDequantize {
    /// `bytes` must hold exactly `count` elements of `type` (the reader checks this before calling);
    /// returns nil for a type this file cannot dequantize.
    public static func floats(_ bytes: UnsafeRawBufferPointer, type: GGMLType, count: Int) -> [Float]? {
        let (be, bb) = type.blockLayout
        guard count >= 0, count % be == 0, bytes.count == count / be * bb else { return nil }
        let blocks = count / be
        let kernel: ((UnsafeRawBufferPointer, UnsafeMutablePointer<Float>) -> Void)?
        switch type {
        case .F32: kernel = { b, o in o[0] = Float(bitPattern: u32(b, 0)) }
        case .F16: kernel = { b, o in o[0] = half(b, 0) }
        case .BF16: kernel = { b, o in o[0] = Conversions.bf16ToFloat(u16(b, 0)) }
        case .F64: kernel = { b, o in o[0] = Float(Double(bitPattern: UInt64(littleEndian: b.loadUnaligned(as: UInt64.self)))) }
        case .I8: kernel = { b, o in o[0] = Float(Int8(bitPattern: b[0])) }
        case .I16: kernel = { b, o in o[0] = Float(Int16(bitPattern: u16(b, 0))) }
        case .I32: kernel = { b, o in o[0] = Float(Int32(bitPattern: u32(b, 0))) }
        case .Q8_0: kernel = q8_0
        case .Q4_0: kernel = q4_0
        case .Q4_1: kernel = q4_1
        case .Q5_0: kernel = q5_0
        case .Q5_1: kernel = q5_1
        case .Q2_K: kernel = q2_K
        case .Q3_K: kernel = q3_K
        case .Q4_K: kernel = q4_K
        case .Q5_K: kernel = q5_K
        case .Q6_K: kernel = q6_K
        case .Q8_K: kernel = q8_K
        default: kernel = nil
        }
        guard let kernel else { return nil }
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            guard let o = out.baseAddress else { initialized = 0; return }
            for i in 0..<blocks {
                kernel(UnsafeRawBufferPointer(rebasing: bytes[(i * bb)..<(i * bb + bb)]), o + i * be)
            }
            initialized = count
        }
    }

    @inline(__always) static func u16(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt16 { UInt16(b[at]) | UInt16(b[at + 1]) << 8 }
    @inline(__always) static func u32(_ b: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
    }
    @inline(__always) static func half(_ b: UnsafeRawBufferPointer, _ at: Int) -> Float { Conversions.f16ToFloat(u16(b, at)) }

    // 32-element blocks: a half scale (and for _1 types a half minimum), low nibbles give elements 0..<16, high nibbles 16..<32.

    static func q8_0(_ b: UnsafeRawBufferPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        for j in 0..<32 { o[j] = Float(Int8(bitPattern: b[2 + j])) * d }
    }

    static func q4_0(_ b: UnsafeRawBufferPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(b, 0)
        for j in 0..<16 {
            let q = b[2 + j]
            o[j] = d * Float(Int(q & 0x0F) - 8)
            o[j + 16] = d * Float(Int(q >> 4) - 8)
        }
    }

    static func q4_1(_ b: UnsafeRawBufferPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), m = half(b, 2)
        for j in 0..<16 {
            let q = b[4 + j]
            let lo: Float = d * Float(q & 0x0F), hi: Float = d * Float(q >> 4)
            o[j] = lo + m
            o[j + 16] = hi + m
        }
    }

    static func q5_0(_ b: UnsafeRawBufferPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), qh = u32(b, 2)
        for j in 0..<16 {
            let q = b[6 + j]
            let lo = Int(q & 0x0F) | Int((qh >> UInt32(j)) & 1) << 4
            let hi = Int(q >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
            o[j] = d * Float(lo - 16)
            o[j + 16] = d * Float(hi - 16)
        }
    }

    static func q5_1(_ b: UnsafeRawBufferPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), m = half(b, 2), qh = u32(b, 4)
        for j in 0..<16 {
            let q = b[8 + j]
            let lo = Int(q & 0x0F) | Int((qh >> UInt32(j)) & 1) << 4
            let hi = Int(q >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
            let a: Float = d * Float(lo), c: Float = d * Float(hi)
            o[j] = a + m
            o[j + 16] = c + m
        }
    }

    // 256-element super-blocks (k-quants).

    /// scales[16] | qs[64] | d | dmin. Element h·128 + s·32 + l is 2 bits of qs[h·32 + l] at bit 2s; 16 sub-blocks of 16.
    static func q2_K(_ b: UnsafeRawBufferPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(b, 80), dmin = half(b, 82)
        for e in 0..<256 {
            let h = e / 128, s = (e / 32) % 4, l = e % 32
            let q = Float((b[16 + h * 32 + l] >> UInt8(2 * s)) & 3)
            let sc = b[e / 16]
            let dl: Float = d * Float(sc & 0x0F), ml: Float = dmin * Float(sc >> 4)
            let p: Float = dl * q
            o[e] = p - ml
        }
    }

    /// hmask[32] | qs[64] | scales[12] (6-bit, signed by −32) | d. The high bit is inverted: set means no −4 offset.
    static func q3_K(_ b: UnsafeRawBufferPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(b, 108)
        for e in 0..<256 {
            let i = e / 16
            let low = (b[96 + i % 8] >> UInt8(4 * (i / 8))) & 0x0F
            let high = (b[104 + i % 4] >> UInt8(2 * (i / 4))) & 0x03
            let dl: Float = d * Float(Int(low | high << 4) - 32)
            let h = e / 128, s = (e / 32) % 4, l = e % 32
            let ql = Int((b[32 + h * 32 + l] >> UInt8(2 * s)) & 3)
            let qh = Int(((b[l] >> UInt8(e / 32)) & 1) ^ 1)
            o[e] = dl * Float(ql - (qh << 2))
        }
    }

    /// The 12-byte 6-bit scale/min packing shared by Q4_K and Q5_K: eight (scale, min) pairs.
    static func scaleMin(_ b: UnsafeRawBufferPointer, _ at: Int, _ j: Int) -> (UInt8, UInt8) {
        if j < 4 { return (b[at + j] & 0x3F, b[at + 4 + j] & 0x3F) }
        let md = b[at + 8 + j - 4]
        return ((md & 0x0F) | ((b[at + j - 4] >> 2) & 0x30), (md >> 4) | ((b[at + 4 + j - 4] >> 2) & 0x30))
    }

    /// d | dmin | scales[12] | qs[128]. Element c·64 + s·32 + l is the nibble of qs[c·32 + l] at bit 4s; 8 sub-blocks of 32.
    static func q4_K(_ b: UnsafeRawBufferPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), dmin = half(b, 2)
        for j in 0..<8 {
            let (sc, m) = scaleMin(b, 4, j)
            let ds: Float = d * Float(sc), dm: Float = dmin * Float(m)
            let c = j / 2, s = j % 2
            for l in 0..<32 {
                let q = Float((b[16 + c * 32 + l] >> UInt8(4 * s)) & 0x0F)
                let p: Float = ds * q
                o[j * 32 + l] = p - dm
            }
        }
    }

    /// d | dmin | scales[12] | qh[32] | qs[128]; as Q4_K with a fifth bit from qh[l] at bit (element / 32).
    static func q5_K(_ b: UnsafeRawBufferPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(b, 0), dmin = half(b, 2)
        for j in 0..<8 {
            let (sc, m) = scaleMin(b, 4, j)
            let ds: Float = d * Float(sc), dm: Float = dmin * Float(m)
            let c = j / 2, s = j % 2
            for l in 0..<32 {
                let ql = (b[48 + c * 32 + l] >> UInt8(4 * s)) & 0x0F
                let qh = (b[16 + l] >> UInt8(j)) & 1
                let p: Float = ds * Float(ql | qh << 4)
                o[j * 32 + l] = p - dm
            }
        }
    }

    /// ql[128] | qh[64] | scales[16] (int8) | d. Element h·128 + s·64 + k takes the nibble of ql[h·64 + k] at bit 4s,
    /// and element h·128 + t·32 + l two bits of qh[h·32 + l] at bit 2t; signed by −32; 16 sub-blocks of 16.
    static func q6_K(_ b: UnsafeRawBufferPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = half(b, 208)
        for e in 0..<256 {
            let h = e / 128, r = e % 128
            let ql = (b[h * 64 + r % 64] >> UInt8(4 * (r / 64))) & 0x0F
            let qh = (b[128 + h * 32 + r % 32] >> UInt8(2 * (r / 32))) & 0x03
            let ds: Float = d * Float(Int8(bitPattern: b[192 + e / 16]))
            o[e] = ds * Float(Int(ql | qh << 4) - 32)
        }
    }

    /// float32 d | qs[256] int8 | bsums[16] int16 (sums for dot products, unused here); as ggml's dequantize_row_q8_K.
    static func q8_K(_ b: UnsafeRawBufferPointer, _ o: UnsafeMutablePointer<Float>) {
        let d = Float(bitPattern: u32(b, 0))
        for j in 0..<256 { o[j] = d * Float(Int8(bitPattern: b[4 + j])) }
    }
}
