/// Element types of the safetensors format, spelled as the format spells them.
public enum DType: String, Sendable, CaseIterable {
    case BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, I32, U32, F32, F64, I64, U64

    /// Bytes per element; the format stores tensors densely, so byte length = elements × this.
    public var size: Int {
        switch self {
        case .BOOL, .U8, .I8, .F8_E5M2, .F8_E4M3: return 1
        case .I16, .U16, .F16, .BF16: return 2
        case .I32, .U32, .F32: return 4
        case .F64, .I64, .U64: return 8
        }
    }

    /// The Rust library orders tensors by this enum's declaration order, descending (widest first), then by name.
    var rank: Int { DType.allCases.firstIndex(of: self)! }
}
