#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Values

/// A safetensors file mapped into memory. The header is validated at open; tensor bytes are only touched on access,
/// so opening a multi-gigabyte checkpoint costs one header read.
public final class SafeTensorsFile: @unchecked Sendable {
    /// Headers above this are refused: the format's own limit, and a guard against a hostile length field.
    public static let maxHeaderBytes = 100_000_000

    public let url: URL
    public let metadata: [String: String]
    /// Tensor names in file (offset) order.
    public let names: [String]
    private let infos: [String: TensorInfo]
    private let mapping: MappedFile
    private let dataStart: Int

    public init(url: URL) throws {
        self.url = url
        let path = url.path
        func fail(_ m: String) -> WeightFileError { WeightFileError(file: path, m) }
        mapping = try MappedFile(path: path)
        let raw = mapping.bytes, size = raw.count
        guard size >= 8 else { throw fail("file is \(size) bytes, shorter than the 8-byte header length; the file is truncated, download it again") }
        do {
            var n: UInt64 = 0
            for i in 0..<8 { n |= UInt64(raw[i]) << (8 * UInt64(i)) }
            guard n <= UInt64(Self.maxHeaderBytes) else {
                throw fail("header length \(n) exceeds the 100 MB limit; this is not a safetensors file or it is corrupt, download it again")
            }
            guard n <= UInt64(size - 8) else {
                throw fail("header length \(n) is past the end of the file (\(size) bytes); the file is truncated, download it again")
            }
            let h = Int(n)
            let headerBytes = UnsafeRawBufferPointer(rebasing: raw[8..<(8 + h)])
            guard String(validating: headerBytes, as: UTF8.self) != nil else {
                throw fail("header is not valid UTF-8; the file is corrupt, download it again")
            }
            let parsed = try SafeTensorsHeader.parse(headerBytes, dataLength: size - 8 - h, fail: fail)
            self.metadata = parsed.metadata
            self.names = parsed.infos.map(\.name)
            self.infos = Dictionary(uniqueKeysWithValues: parsed.infos.map { ($0.name, $0) })
            self.dataStart = 8 + h
        }
    }

    public func info(_ name: String) throws -> TensorInfo {
        guard let i = infos[name] else {
            throw WeightFileError(file: url.path, "no tensor named \"\(name)\"; the file has \(names.count) tensors, check the name against `names`")
        }
        return i
    }

    /// The tensor's bytes, valid while this file object is alive.
    public func bytes(_ name: String) throws -> UnsafeRawBufferPointer {
        let i = try info(name)
        return UnsafeRawBufferPointer(start: mapping.bytes.baseAddress! + dataStart + i.byteRange.lowerBound, count: i.byteRange.count)
    }

    /// The tensor as 32-bit floats (F32 copied, F16/BF16 widened exactly, F64 and integers converted).
    public func floats(_ name: String) throws -> [Float] {
        let i = try info(name)
        let b = try bytes(name)
        guard let out = Conversions.toFloats(b, dtype: i.dtype) else {
            throw WeightFileError(file: url.path, "tensor \"\(name)\" has dtype \(i.dtype.rawValue), which has no float conversion here; read it with bytes(_:)")
        }
        return out
    }
}
