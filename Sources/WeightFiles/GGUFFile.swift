#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// One metadata value of a GGUF file, in the format's own 13 types (arrays may nest).
public enum GGUFValue: Sendable, Equatable {
    case uint8(UInt8), int8(Int8), uint16(UInt16), int16(Int16), uint32(UInt32), int32(Int32)
    case float32(Float), bool(Bool), string(String), array([GGUFValue]), uint64(UInt64), int64(Int64), float64(Double)

    /// Any integer type as Int (nil for a UInt64 above Int.max, or a non-integer).
    public var intValue: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        default: return nil
        }
    }

    /// A number as Double. float32 goes through its shortest decimal spelling, so a stored 1e-5 reads back as the
    /// 1e-5 of the original config.json rather than 9.99999974e-06.
    public var doubleValue: Double? {
        switch self {
        case .float32(let f): return Double("\(f)") ?? Double(f)
        case .float64(let d): return d
        default: return intValue.map(Double.init)
        }
    }

    public var stringValue: String? { if case .string(let s) = self { return s }; return nil }
    public var boolValue: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var arrayValue: [GGUFValue]? { if case .array(let a) = self { return a }; return nil }
}

/// A tensor's entry in the GGUF header. `shape` is row-major (outermost first, as torch and safetensors write it);
/// the file stores dimensions innermost first.
public struct GGUFTensorInfo: Sendable, Equatable {
    public var name: String
    public var ggmlType: GGMLType
    public var shape: [Int]
    /// Offset from the start of the data section, as stored.
    public var offset: Int
    public var byteCount: Int
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A GGUF (llama.cpp) file mapped into memory. The header is validated at open; tensor bytes are only read on access.
public final class GGUFFile: @unchecked Sendable {
    /// Counts above these are refused before anything is allocated: far beyond any real model, and a guard against
    /// a hostile count field.
    public static let maxTensors = 1 << 20
    public static let maxMetadataEntries = 1 << 20
    public static let maxArrayNesting = 8
    /// Vocabularies are the longest arrays in practice (about 260k tokens); 16M leaves room and bounds allocation.
    public static let maxArrayLength = 1 << 24
    public static let maxKeyBytes = 65_535

    public let url: URL
    public let version: Int
    public let metadata: [String: GGUFValue]
    /// Tensors in header order.
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    /// Absolute file offset of the (aligned) data section.
    public let dataStart: Int
    private let index: [String: Int]
    private let mapping: MappedFile

    public init(url: URL) throws {
        self.url = url
        let path = url.path
        func fail(_ m: String) -> WeightFileError { WeightFileError(file: path, m) }
        mapping = try MappedFile(path: path)
        let size = mapping.size
        guard size >= 24 else {
            throw fail("file is \(size) bytes, shorter than the 24-byte GGUF header; the file is truncated, download it again")
        }
        do {
            let parsed = try GGUFHeader.parse(mapping.bytes, fail: fail)
            self.version = parsed.version
            self.metadata = parsed.metadata
            self.tensors = parsed.tensors
            self.alignment = parsed.alignment
            self.dataStart = parsed.dataStart
            self.index = Dictionary(uniqueKeysWithValues: parsed.tensors.enumerated().map { ($1.name, $0) })
        }
    }

    // Metadata accessors: nil when the key is missing or holds another type.

    public func string(_ key: String) -> String? { metadata[key]?.stringValue }
    public func int(_ key: String) -> Int? { metadata[key]?.intValue }
    public func double(_ key: String) -> Double? { metadata[key]?.doubleValue }
    public func bool(_ key: String) -> Bool? { metadata[key]?.boolValue }
    public func array(_ key: String) -> [GGUFValue]? { metadata[key]?.arrayValue }
    public func strings(_ key: String) -> [String]? { array(key)?.compactMapAll(\.stringValue) }
    public func ints(_ key: String) -> [Int]? { array(key)?.compactMapAll(\.intValue) }
    public func doubles(_ key: String) -> [Double]? { array(key)?.compactMapAll(\.doubleValue) }

    public func info(_ name: String) throws -> GGUFTensorInfo {
        guard let i = index[name] else {
            throw WeightFileError(file: url.path, "no tensor named \"\(name)\"; the file has \(tensors.count) tensors, check the name against `tensors`")
        }
        return tensors[i]
    }

    public func hasTensor(_ name: String) -> Bool { index[name] != nil }

    /// The tensor's raw (possibly quantized) bytes, valid while this file object is alive.
    public func bytes(_ name: String) throws -> UnsafeRawBufferPointer {
        let i = try info(name)
        return UnsafeRawBufferPointer(start: mapping.bytes.baseAddress! + dataStart + i.offset, count: i.byteCount)
    }

    /// The tensor dequantized to float32, row-major, bit-identical to gguf-py's `gguf.quants.dequantize`.
    public func floats(_ name: String) throws -> [Float] {
        let i = try info(name)
        guard let out = GGUFDequantize.floats(try bytes(name), type: i.ggmlType, count: i.elementCount) else {
            throw WeightFileError(file: url.path, "tensor \"\(name)\" has ggml type \(i.ggmlType.name), which this reader cannot dequantize (supported: \(GGMLType.dequantizable.map(\.name).joined(separator: ", "))); requantize the model to one of these with llama-quantize")
        }
        return out
    }
}

extension Array {
    /// The mapped array, or nil if any element maps to nil (a metadata array of mixed or wrong type).
    fileprivate func compactMapAll<T>(_ f: (Element) -> T?) -> [T]? {
        var out: [T] = []
        out.reserveCapacity(count)
        for e in self { guard let v = f(e) else { return nil }; out.append(v) }
        return out
    }
}
