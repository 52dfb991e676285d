import Foundation
import TestSupport
import Values
import XCTest
@testable import WeightFiles

/// pytorch_model.bin files read without running their pickle: values equal what torch loads, hostile or damaged
/// files are refused with the rule they break.
final class PyTorchCheckpointTests: XCTestCase {
    let fixtures = TestSupport.packageRoot.appendingPathComponent("Tests/WeightFilesTests/Fixtures/pickle")
    /// The malicious fixtures' payload would create this file; it must never appear.
    let marker = "/tmp/sftrun-pickle-fixture-executed"

    // MARK: - Values torch wrote

    func assertMatchesTorch(_ file: String, line: UInt = #line) throws -> PyTorchCheckpoint {
        let url = fixtures.appendingPathComponent(file)
        let ckpt = try PyTorchCheckpoint(url: url)
        let rows = try JSON.parse(try String(contentsOf: url.appendingPathExtension("json"), encoding: .utf8))["tensors"]!.arrayValue!
        XCTAssertEqual(ckpt.names, rows.map { $0["name"]!.stringValue! }, "state-dict order", line: line)
        var storageOf: [Int: String] = [:]
        for r in rows {
            let name = r["name"]!.stringValue!
            let i = try ckpt.info(name)
            XCTAssertEqual(i.dtype.rawValue, r["dtype"]!.stringValue!, name, line: line)
            XCTAssertEqual(i.shape, r["shape"]!.arrayValue!.map { $0.intValue! }, name, line: line)
            XCTAssertEqual(i.strides, r["stride"]!.arrayValue!.map { $0.intValue! }, name, line: line)
            XCTAssertEqual(i.storageOffset, r["storage_offset"]!.intValue!, name, line: line)
            let values = try ckpt.floats(name)
            let expected = r["values"]!.arrayValue!.map { Float($0.doubleValue!) }
            XCTAssertEqual(values.map(\.bitPattern), expected.map(\.bitPattern), name, line: line)
            // Tensors torch loads into one storage must name one storage here, and distinct ones distinct keys.
            let s = r["storage"]!.intValue!
            if let key = storageOf[s] { XCTAssertEqual(i.storageKey, key, name, line: line) } else {
                XCTAssertFalse(storageOf.values.contains(i.storageKey), name, line: line)
                storageOf[s] = i.storageKey
            }
        }
        return ckpt
    }

    func testEveryDtypeMatchesTorch() throws {
        let c = try assertMatchesTorch("dtypes.pt")
        XCTAssertEqual(c.prefix, "dtypes")
        XCTAssertEqual(try c.info("scalar").shape, [])
        XCTAssertEqual(try c.floats("empty"), [])
        XCTAssertEqual(Array(try c.rawBytes("u8")), [0, 200, 7])
        XCTAssertEqual(try c.bytes("i16"), [0xFD, 0xFF, 0, 0, 7, 0])
    }

    func testViewsTiedPairAndOffsetsMatchTorch() throws {
        let c = try assertMatchesTorch("views.pt")
        XCTAssertEqual(try c.info("embed.weight").storageKey, try c.info("lm_head.weight").storageKey)
        XCTAssertFalse(try c.info("transposed").isContiguous)
        XCTAssertTrue(try c.info("rows_1_2").isContiguous)
        XCTAssertEqual(try c.info("rows_1_2").storageOffset, 4)
        XCTAssertThrowsError(try c.rawBytes("transposed")) { XCTAssertTrue("\($0)".contains("non-contiguous"), "\($0)") }
    }

    func testOPTShapedStateDictMatchesTorch() throws {
        let c = try assertMatchesTorch("opt_like.bin")
        XCTAssertTrue(c.names.contains("model.decoder.layers.0.self_attn.k_proj.weight"))
        XCTAssertEqual(try c.info("model.decoder.embed_tokens.weight").storageKey, try c.info("lm_head.weight").storageKey)
    }

    // MARK: - Refusals

    func assertRefused(_ url: URL, _ fragments: [String], line: UInt = #line) {
        XCTAssertThrowsError(try PyTorchCheckpoint(url: url), line: line) { e in
            let m = "\(e)"
            for f in fragments { XCTAssertTrue(m.contains(f), m, line: line) }
            XCTAssertTrue(m.contains(url.path), m, line: line)
        }
    }

    func testMaliciousGlobalsAreRefusedAndNothingRuns() throws {
        try? FileManager.default.removeItem(atPath: marker)
        assertRefused(fixtures.appendingPathComponent("malicious_system.pt"), ["refusing to load posix.system", "may run code", "safetensors", "offset 169"])
        assertRefused(fixtures.appendingPathComponent("malicious_eval.pt"), ["refusing to load __builtin__.eval"])
        assertRefused(fixtures.appendingPathComponent("malicious_eval_p4.pt"), ["refusing to load builtins.eval"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "a pickle payload ran")
    }

    func testLegacyFormatIsRefused() {
        assertRefused(fixtures.appendingPathComponent("legacy.pt"), ["legacy torch.save format", "torch>=1.6", "safetensors"])
    }

    func temp(_ bytes: [UInt8]) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString).bin")
        try Data(bytes).write(to: url)
        return url
    }

    func fixtureBytes(_ name: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: fixtures.appendingPathComponent(name))) }

    func testTruncatedZipIsRefused() throws {
        let b = try fixtureBytes("dtypes.pt")
        assertRefused(try temp(Array(b.prefix(b.count - 1))), ["no zip end-of-central-directory record"])
        assertRefused(try temp(Array(b.prefix(b.count / 2))), ["no zip end-of-central-directory record"])
        assertRefused(try temp([0x50, 0x4B]), ["shorter than a zip end-of-central-directory record"])
    }

    /// Offset of the last occurrence of a 4-byte little-endian signature.
    func find(_ sig: UInt32, in b: [UInt8]) -> Int {
        let s = (0..<4).map { UInt8((sig >> (8 * UInt32($0))) & 0xFF) }
        return (0...(b.count - 4)).last { Array(b[$0..<($0 + 4)]) == s }!
    }

    func put64(_ v: UInt64, _ b: inout [UInt8], at: Int) { for k in 0..<8 { b[at + k] = UInt8((v >> (8 * UInt64(k))) & 0xFF) } }
    func put32(_ v: UInt32, _ b: inout [UInt8], at: Int) { for k in 0..<4 { b[at + k] = UInt8((v >> (8 * UInt32(k))) & 0xFF) } }

    func testBadZipOffsetsAreRefused() throws {
        let b = try fixtureBytes("dtypes.pt")
        let z64 = find(0x0606_4B50, in: b)
        var huge = b
        put64(1 << 40, &huge, at: z64 + 48)
        assertRefused(try temp(huge), ["ZIP64 central directory offset", "larger than the file"])
        var shifted = b
        put64(UInt64(z64 - 10), &shifted, at: z64 + 48)
        assertRefused(try temp(shifted), ["runs past the end records"])
        var misplaced = b
        put64(UInt64(b.count / 2), &misplaced, at: z64 + 48)
        assertRefused(try temp(misplaced), ["central directory entry 0 at offset \(b.count / 2) has no central header signature"])
        var locator = b
        put64(UInt64(b.count), &locator, at: find(0x0706_4B50, in: b) + 8)
        assertRefused(try temp(locator), ["past the ZIP64 locator"])
        // The first central entry (data.pkl) pointed at the middle of its own data.
        var local = b
        put32(7, &local, at: firstCentral(b) + 42)
        assertRefused(try temp(local), ["no local header signature at offset 7"])
    }

    func firstCentral(_ b: [UInt8]) -> Int {
        let s: [UInt8] = [0x50, 0x4B, 0x01, 0x02]
        return (0...(b.count - 4)).first { Array(b[$0..<($0 + 4)]) == s }!
    }

    func testCorruptStorageFailsItsChecksum() throws {
        var b = try fixtureBytes("dtypes.pt")
        let good = try ZipArchive(url: fixtures.appendingPathComponent("dtypes.pt"))
        let e = good.entry("dtypes/data/0")!
        b[e.dataOffset] ^= 0xFF
        let c = try PyTorchCheckpoint(url: try temp(b))
        XCTAssertThrowsError(try c.floats(c.names[0])) { XCTAssertTrue("\($0)".contains("CRC-32"), "\($0)") }
    }

    // MARK: - Hand-made archives: one rule each

    /// A stored-entry zip with correct CRCs, so each test breaks exactly the rule it names.
    /// `zip64` saturates each central entry's sizes and offset and puts the real values in a ZIP64 extra field,
    /// as writers do past 4 GB.
    func zip(_ files: [(String, [UInt8])], method: UInt16 = 0, zip64: Bool = false) -> [UInt8] {
        var out: [UInt8] = [], central: [UInt8] = []
        func u16(_ v: Int, _ a: inout [UInt8]) { a += [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }
        func u32(_ v: UInt32, _ a: inout [UInt8]) { for k in 0..<4 { a.append(UInt8(v >> (8 * UInt32(k)) & 0xFF)) } }
        for (name, data) in files {
            let crc = data.withUnsafeBytes { CRC32.checksum($0) }
            let offset = out.count
            u32(0x0403_4B50, &out); u16(20, &out); u16(0, &out); u16(Int(method), &out); u16(0, &out); u16(0, &out)
            u32(crc, &out); u32(UInt32(data.count), &out); u32(UInt32(data.count), &out); u16(name.utf8.count, &out); u16(0, &out)
            out += Array(name.utf8) + data
            u32(0x0201_4B50, &central); u16(20, &central); u16(20, &central); u16(0, &central); u16(Int(method), &central)
            let saturated: UInt32 = 0xFFFF_FFFF
            u16(0, &central); u16(0, &central); u32(crc, &central)
            u32(zip64 ? saturated : UInt32(data.count), &central); u32(zip64 ? saturated : UInt32(data.count), &central)
            u16(name.utf8.count, &central); u16(zip64 ? 28 : 0, &central); u16(0, &central); u16(0, &central); u16(0, &central); u32(0, &central)
            u32(zip64 ? saturated : UInt32(offset), &central)
            central += Array(name.utf8)
            if zip64 {
                u16(1, &central); u16(24, &central)
                for v in [UInt64(data.count), UInt64(data.count), UInt64(offset)] { u32(UInt32(v & 0xFFFF_FFFF), &central); u32(UInt32(v >> 32), &central) }
            }
        }
        let cdOffset = out.count
        out += central
        u32(0x0605_4B50, &out); u16(0, &out); u16(0, &out); u16(files.count, &out); u16(files.count, &out)
        u32(UInt32(central.count), &out); u32(UInt32(cdOffset), &out); u16(0, &out)
        return out
    }

    func s(_ t: String) -> [UInt8] { [0x58] + withUnsafeBytes(of: UInt32(t.utf8.count).littleEndian, Array.init) + Array(t.utf8) }
    func g(_ m: String, _ n: String) -> [UInt8] { [0x63] + Array("\(m)\n\(n)\n".utf8) }

    /// {"w": _rebuild_tensor_v2(storage("0", numel), offset, size, stride, False, {})} in protocol 2.
    func statePickle(numel: UInt8, offset: UInt8 = 0, size: [UInt8], stride: [UInt8]) -> [UInt8] {
        var p: [UInt8] = [0x80, 0x02, 0x7D, 0x28] + s("w") + g("torch._utils", "_rebuild_tensor_v2") + [0x28, 0x28]
        p += s("storage") + g("torch", "FloatStorage") + s("0") + s("cpu") + [0x4B, numel, 0x74, 0x51, 0x4B, offset]
        p += [0x28] + size.flatMap { [0x4B, $0] } + [0x74, 0x28] + stride.flatMap { [0x4B, $0] } + [0x74]
        p += [0x89, 0x7D, 0x74, 0x52, 0x75, 0x2E]
        return p
    }

    func archive(_ pickle: [UInt8], storage: [UInt8] = [UInt8](repeating: 0, count: 8), method: UInt16 = 0, byteorder: String = "little") throws -> URL {
        try temp(zip([("a/data.pkl", pickle), ("a/byteorder", Array(byteorder.utf8)), ("a/data/0", storage)], method: method))
    }

    func testHandMadeArchiveReads() throws {
        let floats: [Float] = [1.5, -2]
        let url = try archive(statePickle(numel: 2, size: [2], stride: [1]), storage: floats.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) })
        let c = try PyTorchCheckpoint(url: url)
        XCTAssertEqual(c.names, ["w"])
        XCTAssertEqual(try c.floats("w"), floats)
    }

    func testZIP64ExtraFieldsAreRead() throws {
        let floats: [Float] = [0.25, 8]
        let storage = floats.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
        let url = try temp(zip([("a/data.pkl", statePickle(numel: 2, size: [2], stride: [1])), ("a/data/0", storage)], zip64: true))
        XCTAssertEqual(try PyTorchCheckpoint(url: url).floats("w"), floats)
    }

    func testWrongStorageSizeIsRefused() throws {
        assertRefused(try archive(statePickle(numel: 3, size: [3], stride: [1])), ["wrong storage size", "a/data/0 is 8 bytes", "3 F32 elements"])
    }

    func testViewPastItsStorageIsRefused() throws {
        assertRefused(try archive(statePickle(numel: 2, offset: 1, size: [2], stride: [1])), ["reaches element 2", "which has 2"])
        assertRefused(try archive(statePickle(numel: 2, size: [2, 2], stride: [0, 2])), ["reaches element 2"])
    }

    func testMissingStorageEntryIsRefused() throws {
        let url = try temp(zip([("a/data.pkl", statePickle(numel: 2, size: [2], stride: [1]))]))
        assertRefused(url, ["has no a/data/0 entry"])
    }

    func testDeflatedEntriesAreRefused() throws {
        assertRefused(try archive(statePickle(numel: 2, size: [2], stride: [1]), method: 8), ["deflate-compressed", "stored entries"])
    }

    func testBigEndianCheckpointIsRefused() throws {
        assertRefused(try archive(statePickle(numel: 2, size: [2], stride: [1]), byteorder: "big"), ["byteorder", "little-endian"])
    }

    func testDirectoryIsRefused() throws {
        let d = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: d) }
        XCTAssertThrowsError(try PyTorchCheckpoint(url: d)) { XCTAssertTrue("\($0)".contains(d.path), "\($0)") }
    }

    func testNoDataPickleIsRefused() throws {
        assertRefused(try temp(zip([("a/other", [1])])), ["no <folder>/data.pkl"])
    }

    func testUnknownOpcodeIsRefusedWithItsOffset() throws {
        assertRefused(try archive([0x80, 0x02, 0x7D, 0x69]), ["a/data.pkl offset 3", "opcode 0x69"])
    }

    func testDisallowedCallsAreRefused() throws {
        assertRefused(try archive([0x80, 0x02] + g("torch.storage", "_load_from_bytes") + [0x2E]), ["refusing to load torch.storage._load_from_bytes"])
        assertRefused(try archive([0x80, 0x04] + [0x8C, 2] + Array("os".utf8) + [0x8C, 6] + Array("system".utf8) + [0x93]), ["refusing to load os.system"])
        assertRefused(try archive([0x80, 0x02] + g("torch", "FloatStorage") + [0x29, 0x52, 0x2E]), ["refusing to call torch.FloatStorage"])
        assertRefused(try archive([0x80, 0x02] + g("torch", "device") + [0x29, 0x81, 0x2E]), ["refusing NEWOBJ on torch.device"])
    }

    func testHostileStructureIsCapped() throws {
        let deep: [UInt8] = [0x80, 0x02, 0x29] + [UInt8](repeating: 0x85, count: 200) + [0x2E]
        assertRefused(try archive(deep), ["nest deeper than 64"])
        assertRefused(try archive([0x80, 0x02, 0x30]), ["pops an empty stack"])
        assertRefused(try archive([0x80, 0x02, 0x68, 5]), ["memo entry 5 is fetched before it is stored"])
        assertRefused(try archive([0x80, 0x02, 0x58, 0xFF, 0xFF, 0xFF, 0x7F]), ["runs past the end of the pickle"])
        assertRefused(try archive([0x80, 0x02, 0x7D]), ["ends without STOP"])
        assertRefused(try archive([0x80, 0x02, 0x4B, 1, 0x2E]), ["not a state dict"])
    }
}
