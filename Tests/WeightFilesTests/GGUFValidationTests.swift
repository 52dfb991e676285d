import Foundation
import TestSupport
import XCTest
@testable import WeightFiles

/// Builds GGUF bytes field by field, so each test can break exactly one rule.
enum GGUFBytes {
    struct Tensor { var name: String; var dims: [UInt64]; var type: UInt32; var offset: UInt64 }

    static func u32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }
    static func u64(_ v: UInt64) -> [UInt8] { (0..<8).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) } }
    static func str(_ s: String) -> [UInt8] { u64(UInt64(s.utf8.count)) + Array(s.utf8) }
    /// One key/value: key, type, encoded value bytes.
    static func kv(_ key: String, _ type: UInt32, _ value: [UInt8]) -> [UInt8] { str(key) + u32(type) + value }

    static func bytes(magic: [UInt8] = Array("GGUF".utf8), version: UInt32 = 3, tensorCount: UInt64? = nil, kvCount: UInt64? = nil,
                      kvs: [[UInt8]] = [], tensors: [Tensor] = [], alignment: Int = 32, data: [UInt8] = []) -> [UInt8] {
        var b = magic + u32(version) + u64(tensorCount ?? UInt64(tensors.count)) + u64(kvCount ?? UInt64(kvs.count))
        for k in kvs { b += k }
        for t in tensors {
            b += str(t.name) + u32(UInt32(t.dims.count))
            for d in t.dims { b += u64(d) }
            b += u32(t.type) + u64(t.offset)
        }
        while b.count % alignment != 0 { b.append(0) }
        return b + data
    }

    static func write(_ b: [UInt8]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gguf-\(UUID().uuidString).gguf")
        try Data(b).write(to: url)
        return url
    }

    static func file(kvs: [[UInt8]] = [], tensors: [Tensor], data: [UInt8]) throws -> URL {
        try write(bytes(kvs: kvs, tensors: tensors, data: data))
    }
}

/// Damaged or hostile GGUF files must be refused with a message naming the file and the rule, never a crash.
final class GGUFValidationTests: XCTestCase {
    typealias B = GGUFBytes
    let f32 = GGMLType.F32.rawValue

    func assertRefused(_ bytes: [UInt8], _ fragment: String, line: UInt = #line) throws {
        let url = try B.write(bytes)
        defer { try? FileManager.default.removeItem(at: url) }
        XCTAssertThrowsError(try GGUFFile(url: url), line: line) { e in
            let m = "\(e)"
            XCTAssertTrue(m.contains(fragment), m, line: line)
            XCTAssertTrue(m.contains(url.path), m, line: line)
        }
    }

    func testWellFormedMinimalFileOpens() throws {
        let url = try B.file(kvs: [B.kv("general.architecture", 8, B.str("llama"))],
                             tensors: [.init(name: "a", dims: [2, 3], type: f32, offset: 0)], data: [UInt8](repeating: 0, count: 24))
        let f = try GGUFFile(url: url)
        XCTAssertEqual(f.tensors.first?.shape, [3, 2])
        XCTAssertEqual(try f.floats("a"), [Float](repeating: 0, count: 6))
    }

    func testTruncatedFilesAreRefused() throws {
        let whole = try Array(Data(contentsOf: TestSupport.packageRoot.appendingPathComponent("Tests/WeightFilesTests/Fixtures/gguf/tiny_llama.gguf")))
        for cut in [0, 3, 23, 24, 40, 200, 3000, whole.count - 1] {
            try assertRefused(Array(whole.prefix(cut)), cut < 24 ? "shorter than the 24-byte GGUF header" : "truncated")
        }
    }

    func testBadMagicIsRefused() throws {
        try assertRefused(B.bytes(magic: Array("GGML".utf8)), "bad magic \"GGML\"")
    }

    func testUnsupportedVersionIsRefused() throws {
        try assertRefused(B.bytes(version: 1), "GGUF version 1 is not supported")
    }

    func testAbsurdCountsAreRefused() throws {
        try assertRefused(B.bytes(tensorCount: UInt64.max), "tensor count is 18446744073709551615, above the limit")
        try assertRefused(B.bytes(tensorCount: 1000), "tensor count is 1000 but only")
        try assertRefused(B.bytes(kvCount: 1 << 40), "metadata entry count is 1099511627776, above the limit")
        try assertRefused(B.bytes(kvs: [B.kv("k", 9, B.u32(4) + B.u64(UInt64.max))]), "array length is 18446744073709551615, above the limit of 16777216")
        try assertRefused(B.bytes(kvs: [B.kv("k", 9, B.u32(4) + B.u64(1000))]), "array length is 1000 but only")
        try assertRefused(B.bytes(kvs: [B.kv("k", 8, B.u64(1 << 50))]), "claims 1125899906842624 bytes")
        try assertRefused(B.bytes(kvs: [B.u64(100_000) + [UInt8](repeating: 65, count: 100_000) + B.u32(0) + [0]]), "above the limit of 65535")
    }

    func testBadMetadataIsRefused() throws {
        try assertRefused(B.bytes(kvs: [B.kv("k", 13, [0])]), "metadata \"k\" has unknown value type 13")
        try assertRefused(B.bytes(kvs: [B.kv("k", 9, B.u32(99) + B.u64(0))]), "array of unknown value type 99")
        try assertRefused(B.bytes(kvs: [B.kv("k", 7, [2])]), "bool stored as 2")
        try assertRefused(B.bytes(kvs: [B.kv("k", 0, [1]), B.kv("k", 0, [2])]), "metadata key \"k\" appears twice")
        try assertRefused(B.bytes(kvs: [B.kv("k", 8, B.u64(2) + [0xC3, 0x28])]), "not valid UTF-8")
        try assertRefused(B.bytes(kvs: [B.kv("general.alignment", 4, B.u32(24))]), "general.alignment is")
        try assertRefused(B.bytes(kvs: [B.kv("general.alignment", 10, B.u64(32))]), "general.alignment is")
        var nested: [UInt8] = []
        for _ in 0..<9 { nested += B.u32(9) + B.u64(1) }
        try assertRefused(B.bytes(kvs: [B.kv("deep", 9, Array(nested.dropFirst(0)) + B.u32(0) + B.u64(0))]), "nests arrays deeper than 8")
    }

    func testUnknownGGMLTypeIsRefused() throws {
        try assertRefused(B.bytes(tensors: [.init(name: "w", dims: [4], type: 77, offset: 0)], data: [UInt8](repeating: 0, count: 32)),
                          "tensor \"w\" has unknown ggml type 77")
    }

    func testTensorOffsetOutOfBoundsIsRefused() throws {
        try assertRefused(B.bytes(tensors: [.init(name: "w", dims: [4], type: f32, offset: 32)], data: [UInt8](repeating: 0, count: 32)),
                          "tensor \"w\" (F32, shape [4]) spans data bytes 32..<48, past the end of the 32-byte data section")
        try assertRefused(B.bytes(tensors: [.init(name: "w", dims: [8], type: f32, offset: 0)], data: [UInt8](repeating: 0, count: 16)),
                          "past the end")
        try assertRefused(B.bytes(tensors: [.init(name: "w", dims: [1], type: f32, offset: UInt64.max - 31)], data: [0, 0, 0, 0]),
                          "out of range")
    }

    func testMisalignedOffsetIsRefused() throws {
        try assertRefused(B.bytes(tensors: [.init(name: "w", dims: [1], type: f32, offset: 4)], data: [UInt8](repeating: 0, count: 8)),
                          "offset 4 is not a multiple of the alignment 32")
    }

    func testDuplicateTensorNamesAreRefused() throws {
        try assertRefused(B.bytes(tensors: [.init(name: "w", dims: [1], type: f32, offset: 0), .init(name: "w", dims: [1], type: f32, offset: 32)],
                                  data: [UInt8](repeating: 0, count: 64)), "tensor name \"w\" appears twice")
    }

    func testOverlappingTensorsAreRefused() throws {
        try assertRefused(B.bytes(tensors: [.init(name: "a", dims: [16], type: f32, offset: 0), .init(name: "b", dims: [1], type: f32, offset: 32)],
                                  data: [UInt8](repeating: 0, count: 64)), "overlap")
    }

    func testBadShapesAreRefused() throws {
        try assertRefused(B.bytes(tensors: [.init(name: "w", dims: [1, 1, 1, 1, 1], type: f32, offset: 0)], data: [0, 0, 0, 0]),
                          "5 dimensions, ggml allows at most 4")
        try assertRefused(B.bytes(tensors: [.init(name: "q", dims: [16, 2], type: GGMLType.Q8_0.rawValue, offset: 0)], data: [UInt8](repeating: 0, count: 68)),
                          "rows of 16 elements are not a whole number of Q8_0 blocks of 32")
        try assertRefused(B.bytes(tensors: [.init(name: "w", dims: [1 << 40, 1 << 40], type: f32, offset: 0)], data: [0, 0, 0, 0]),
                          "overflow")
        try assertRefused(B.bytes(tensors: [.init(name: "w", dims: [UInt64.max], type: f32, offset: 0)], data: [0, 0, 0, 0]),
                          "negative as int64")
    }
}
