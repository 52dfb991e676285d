/// Half-precision ↔ f32 conversions: widening is exact; narrowing rounds to nearest even and keeps NaN a NaN,
/// matching torch's `.to(torch.bfloat16)` / `.to(torch.float16)` bit for bit (every bf16 NaN becomes 0xFFFF, as torch's CPU kernels write it).
public enum Conversions {
    @inline(__always) public static func bf16ToFloat(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }

    @inline(__always) public static func floatToBF16(_ f: Float) -> UInt16 {
        let u = f.bitPattern
        if f.isNaN { return 0xFFFF }  // torch CPU kernels write every NaN as 0xFFFF
        let rounded = u &+ 0x7FFF &+ ((u >> 16) & 1)
        return UInt16(truncatingIfNeeded: rounded >> 16)
    }

    @inline(__always) public static func f16ToFloat(_ h: UInt16) -> Float { Float(Float16(bitPattern: h)) }
    @inline(__always) public static func floatToF16(_ f: Float) -> UInt16 { Float16(f).bitPattern }

    public static func bf16ToFloats(_ a: [UInt16]) -> [Float] { a.map(bf16ToFloat) }
    public static func floatsToBF16(_ a: [Float]) -> [UInt16] { a.map(floatToBF16) }
    public static func f16ToFloats(_ a: [UInt16]) -> [Float] { a.map(f16ToFloat) }
    public static func floatsToF16(_ a: [Float]) -> [UInt16] { a.map(floatToF16) }

    /// Little-endian raw bytes of a tensor as floats; nil for dtypes without a meaningful float view (F8).
    public static func toFloats(_ b: UnsafeRawBufferPointer, dtype: DType) -> [Float]? {
        let n = b.count / dtype.size
        func load<T>(_ t: T.Type, _ i: Int) -> T { b.loadUnaligned(fromByteOffset: i * MemoryLayout<T>.size, as: T.self) }
        switch dtype {
        case .F32: return (0..<n).map { Float(bitPattern: UInt32(littleEndian: load(UInt32.self, $0))) }
        case .F64: return (0..<n).map { Float(Double(bitPattern: UInt64(littleEndian: load(UInt64.self, $0)))) }
        case .BF16: return (0..<n).map { bf16ToFloat(UInt16(littleEndian: load(UInt16.self, $0))) }
        case .F16: return (0..<n).map { f16ToFloat(UInt16(littleEndian: load(UInt16.self, $0))) }
        case .I64: return (0..<n).map { Float(Int64(littleEndian: load(Int64.self, $0))) }
        case .U64: return (0..<n).map { Float(UInt64(littleEndian: load(UInt64.self, $0))) }
        case .I32: return (0..<n).map { Float(Int32(littleEndian: load(Int32.self, $0))) }
        case .U32: return (0..<n).map { Float(UInt32(littleEndian: load(UInt32.self, $0))) }
        case .I16: return (0..<n).map { Float(Int16(littleEndian: load(Int16.self, $0))) }
        case .U16: return (0..<n).map { Float(UInt16(littleEndian: load(UInt16.self, $0))) }
        case .I8: return (0..<n).map { Float(load(Int8.self, $0)) }
        case .U8, .BOOL: return (0..<n).map { Float(load(UInt8.self, $0)) }
        case .F8_E4M3, .F8_E5M2: return nil
        }
    }
}
