import TensorCore

/// How decoded tiles are rounded before the matmul (`bnb_4bit_compute_dtype`): activations stay float32, the
/// dequantized weight values are rounded to the compute dtype, which is what a bf16/fp16 matmul would read.
public enum ComputeDType: String, Sendable {
    case float32, bfloat16, float16

    @inline(__always) func round(_ v: Float) -> Float {
        switch self {
        case .float32: return v
        case .bfloat16:
            let u = v.bitPattern
            return v.isNaN ? v : Float(bitPattern: ((u &+ 0x7FFF &+ ((u >> 16) & 1)) >> 16) << 16)
        case .float16: return Float(Float16(v))
        }
    }
}

/// A 4-bit weight in bitsandbytes' layout: packed nibbles (first element high), one absmax per block of
/// `blocksize` elements, stored as float32 or — with double quantization — as 8-bit codes of the dynamic map,
/// blocks of 256, plus an offset (`nested_absmax`, `nested_quant_map`, `nested_offset`).
public final class FourBitMatrix: PackedWeight, @unchecked Sendable {
    public let type: FourBitType
    public let shape: [Int]
    public let blocksize: Int
    /// `quant_state.dtype`: the dtype of the weight that was quantized (decoded values are rounded to it, as
    /// bitsandbytes' dequantize writes that dtype).
    public let storageDType: ComputeDType
    public var computeDType: ComputeDType
    public let packed: [UInt8]
    public enum Statistics: Sendable {
        case plain(absmax: [Float])
        case nested(codes: [UInt8], nestedAbsmax: [Float], nestedCode: [Float], nestedBlocksize: Int, offset: Float)
    }
    public let statistics: Statistics
    /// The absmax of every block, decoded once (nested statistics are small: 1/64 of the elements).
    let absmax: [Float]
    let table: [Float]

    public init(type: FourBitType, shape: [Int], blocksize: Int, storageDType: ComputeDType, computeDType: ComputeDType,
                packed: [UInt8], statistics: Statistics) {
        self.type = type
        self.shape = shape
        self.blocksize = blocksize
        self.storageDType = storageDType
        self.computeDType = computeDType
        self.packed = packed
        self.statistics = statistics
        table = type.decodeTable
        switch statistics {
        case .plain(let a): absmax = a
        case .nested(let codes, let nested, let code, let nestedBlocksize, let offset):
            absmax = Blockwise.dequantize8bit(codes, absmax: nested, code: code, blocksize: nestedBlocksize).map { $0 + offset }
        }
    }

    /// Quantizes `weight` ([out, in] float32) as `quantize_4bit(…, compress_statistics: doubleQuant)` does.
    public convenience init(quantizing weight: UnsafeBufferPointer<Float>, shape: [Int], type: FourBitType, blocksize: Int = 64,
                            doubleQuant: Bool, storageDType: ComputeDType = .float32, computeDType: ComputeDType = .float32) {
        let (packed, absmax) = Blockwise.quantize4bit(weight, type: type, blocksize: blocksize)
        let statistics: Statistics
        if doubleQuant {
            let offset = TorchSum.mean(absmax)
            let (codes, nested) = Blockwise.quantize8bit(absmax.map { $0 - offset }, code: Codebook.dynamic, blocksize: 256)
            statistics = .nested(codes: codes, nestedAbsmax: nested, nestedCode: Codebook.dynamic, nestedBlocksize: 256, offset: offset)
        } else {
            statistics = .plain(absmax: absmax)
        }
        self.init(type: type, shape: shape, blocksize: blocksize, storageDType: storageDType, computeDType: computeDType,
                  packed: packed, statistics: statistics)
    }

    public var count: Int { shape.reduce(1, *) }

    public var byteCount: Int {
        switch statistics {
        case .plain(let a): return packed.count + a.count * 4
        case .nested(let codes, let nested, _, _, _): return packed.count + codes.count + nested.count * 4 + 256 * 4
        }
    }

    public func decode(into dst: UnsafeMutablePointer<Float>, from start: Int, count n: Int) {
        let rounds = storageDType != .float32 || computeDType != .float32
        packed.withUnsafeBufferPointer { p in
            table.withUnsafeBufferPointer { t in
                var i = start
                let end = start + n
                while i < end {
                    let block = i / blocksize, blockEnd = min(end, (block + 1) * blocksize)
                    let scale = absmax[block]
                    var out = dst + (i - start)
                    if i & 1 == 1 {
                        out.pointee = t[Int(p[i >> 1] & 0x0F)] * scale
                        out += 1
                        i += 1
                    }
                    while i + 1 < blockEnd {
                        let byte = p[i >> 1]
                        out[0] = t[Int(byte >> 4)] * scale
                        out[1] = t[Int(byte & 0x0F)] * scale
                        out += 2
                        i += 2
                    }
                    if i < blockEnd {
                        out.pointee = t[Int(p[i >> 1] >> 4)] * scale
                        i += 1
                    }
                }
            }
        }
        if rounds {
            for j in 0..<n { dst[j] = computeDType.round(storageDType.round(dst[j])) }
        }
    }
}

/// An LLM.int8() weight: int8 rows and their absmax (`weight` int8 [out, in], `SCB` [out]), decoded as
/// bitsandbytes' CPU training path does (`CB · (SCB · 1/127)`, weight-only; activations stay float).
public final class Int8Matrix: PackedWeight, @unchecked Sendable {
    public let shape: [Int]
    public let cb: [Int8]
    public let scb: [Float]
    let rowScale: [Float]

    public init(shape: [Int], cb: [Int8], scb: [Float]) {
        self.shape = shape
        self.cb = cb
        self.scb = scb
        rowScale = scb.map(Int8Rowwise.rowScale)
    }

    public convenience init(quantizing weight: UnsafeBufferPointer<Float>, shape: [Int]) {
        let (cb, scb) = Int8Rowwise.quantize(weight, rows: shape[0], columns: shape[1])
        self.init(shape: shape, cb: cb, scb: scb)
    }

    public var byteCount: Int { cb.count + scb.count * 4 }

    public func decode(into dst: UnsafeMutablePointer<Float>, from start: Int, count n: Int) {
        let columns = shape[1]
        cb.withUnsafeBufferPointer { q in
            var i = start
            let end = start + n
            while i < end {
                let row = i / columns, rowEnd = min(end, (row + 1) * columns)
                let scale = rowScale[row]
                for k in i..<rowEnd { dst[k - start] = Float(q[k]) * scale }
                i = rowEnd
            }
        }
    }
}
