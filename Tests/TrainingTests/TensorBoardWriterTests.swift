import XCTest
import TestSupport
@testable import Training

/// The event files are checked with a reader written here, independent of the writer (bitwise CRC, generic
/// protobuf field walk), and against a file TensorBoard 2.21 itself read (scripts/check_tensorboard.py).
final class TensorBoardWriterTests: XCTestCase {
    static let fixtureFolder = TestSupport.packageRoot.appendingPathComponent("Tests/TrainingTests/Fixtures/tensorboard")
    static let fixtureName = "events.out.tfevents.1700000000.sftrun-fixture.4242.0"

    func testCRC32CMatchesPublishedCheckValues() {
        XCTAssertEqual(CRC32C.checksum(Array("123456789".utf8)), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum([UInt8]()), 0)
        // RFC 3720 (iSCSI) appendix B.4 vectors.
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8($0) }), 0x46DD_794E)
        XCTAssertEqual(CRC32C.checksum((0..<32).map { UInt8(31 - $0) }), 0x113F_DB5C)
        for length in [0, 1, 7, 100, 1000] {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            XCTAssertEqual(CRC32C.checksum(bytes), bitwiseCRC32C(bytes), "length \(length)")
        }
    }

    func testScalarsReadBackWithTagStepAndValue() throws {
        let folder = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let writer = try TensorBoardWriter(directory: folder.appendingPathComponent("run/logs"))
        let scalars: [(String, Double, Int)] = [
            ("train/loss", 2.75, 1), ("train/learning_rate", 3e-5, 1), ("train/loss", 2.5, 2),
            ("eval/loss", 0, 0), ("train/grad_norm", .nan, 3), ("train/loss", -1.25, -7),
            ("train/loss", 1e30, 1 << 40), ("train/ünïcode tag", .infinity, 9),
        ]
        for (tag, value, step) in scalars { try writer.addScalar(tag, value, step: step, wallTime: 1_700_000_123.5) }
        try writer.flush()
        writer.close()

        let events = try readEvents(Data(contentsOf: writer.fileURL))
        XCTAssertEqual(events.count, scalars.count + 1)
        XCTAssertEqual(events.first?.fileVersion, "brain.Event:2")
        XCTAssertNil(events.first?.tag)
        XCTAssertEqual(events.first?.wallTime ?? 0, Date().timeIntervalSince1970, accuracy: 600)
        for (event, (tag, value, step)) in zip(events.dropFirst(), scalars) {
            XCTAssertEqual(event.tag, tag)
            XCTAssertEqual(event.step, Int64(step))
            XCTAssertEqual(event.wallTime, 1_700_000_123.5)
            XCTAssertNil(event.fileVersion)
            let expected = Float(value)
            XCTAssertTrue(event.value == expected || (event.value?.isNaN == true && expected.isNaN), "\(tag): \(String(describing: event.value)) != \(expected)")
        }
    }

    func testFileNameIsTheOneTensorBoardsScanLooksFor() throws {
        let folder = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let first = try TensorBoardWriter(directory: folder), second = try TensorBoardWriter(directory: folder)
        let parts = first.fileURL.lastPathComponent.split(separator: ".", omittingEmptySubsequences: false)
        XCTAssertEqual(Array(parts.prefix(3)), ["events", "out", "tfevents"])
        XCTAssertEqual(Double(Int(parts[3]) ?? 0), Date().timeIntervalSince1970, accuracy: 600)
        XCTAssertEqual(parts.dropFirst(4).dropLast(2).joined(separator: "."), ProcessInfo.processInfo.hostName)
        XCTAssertNotNil(Int(parts[parts.count - 1]), "counter")
        XCTAssertEqual(Int32(parts[parts.count - 2]), ProcessInfo.processInfo.processIdentifier)
        XCTAssertNotEqual(first.fileURL, second.fileURL)
        XCTAssertTrue(first.fileURL.lastPathComponent.contains("tfevents"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).count, 2)
    }

    func testScalarsReachTheFileOnFlushNotBefore() throws {
        let folder = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let writer = try TensorBoardWriter(directory: folder)
        XCTAssertEqual(try readEvents(Data(contentsOf: writer.fileURL)).count, 1, "the version record is on disk at once")
        try writer.addScalar("train/loss", 1, step: 1)
        try writer.addScalar("train/loss", 0.5, step: 2)
        XCTAssertEqual(try readEvents(Data(contentsOf: writer.fileURL)).count, 1)
        try writer.flush()
        XCTAssertEqual(try readEvents(Data(contentsOf: writer.fileURL)).count, 3)
        try writer.addScalar("train/loss", 0.25, step: 3)
        writer.close()
        XCTAssertEqual(try readEvents(Data(contentsOf: writer.fileURL)).map(\.step), [0, 1, 2, 3], "close() flushes")
    }

    func testMisuseThrowsInsteadOfCorruptingTheFile() throws {
        let folder = try TestSupport.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: folder) }
        let writer = try TensorBoardWriter(directory: folder, fileName: "events.out.tfevents.1.test.1.0", startTime: 1)
        XCTAssertThrowsError(try writer.addScalar("", 1, step: 1))
        writer.close()
        XCTAssertThrowsError(try writer.addScalar("train/loss", 1, step: 1)) { error in
            XCTAssertTrue("\(error)".contains("after close()"), "\(error)")
        }
        XCTAssertThrowsError(try TensorBoardWriter(directory: folder, fileName: "events.out.tfevents.1.test.1.0", startTime: 1),
                             "an existing event file is not overwritten")
        let blocker = folder.appendingPathComponent("not-a-folder")
        try Data().write(to: blocker)
        XCTAssertThrowsError(try TensorBoardWriter(directory: blocker))
    }

    /// The committed file was produced by this writer and read by TensorBoard's EventAccumulator; writing the same
    /// inputs must give the same bytes, so TensorBoard's reading of it still speaks for the current writer.
    /// `SFTRUN_WRITE_TENSORBOARD_FIXTURE=1` rewrites the file (then rerun scripts/check_tensorboard.py).
    func testWriterReproducesTheTensorBoardVerifiedFixtureByteForByte() throws {
        let regenerate = ProcessInfo.processInfo.environment["SFTRUN_WRITE_TENSORBOARD_FIXTURE"] == "1"
        let folder = regenerate ? Self.fixtureFolder : try TestSupport.makeTemporaryDirectory()
        defer { if !regenerate { try? FileManager.default.removeItem(at: folder) } }
        if regenerate { try? FileManager.default.removeItem(at: folder.appendingPathComponent(Self.fixtureName)) }
        let writer = try TensorBoardWriter(directory: folder, fileName: Self.fixtureName, startTime: 1_700_000_000.25)
        for (tag, value, step, wallTime) in Self.fixtureScalars {
            try writer.addScalar(tag, value, step: step, wallTime: wallTime)
        }
        try writer.flush()
        writer.close()

        let written = try Data(contentsOf: writer.fileURL)
        let committed = try Data(contentsOf: Self.fixtureFolder.appendingPathComponent(Self.fixtureName))
        XCTAssertEqual(written, committed, "the writer's bytes changed; if on purpose, regenerate the fixture and rerun scripts/check_tensorboard.py")

        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.fixtureFolder.appendingPathComponent("tensorboard_read.json"))) as? [String: Any]
        XCTAssertEqual(json?["file_version"] as? String, "brain.Event:2")
        guard let read = json?["scalars"] as? [String: [[String: Double]]] else { return XCTFail("tensorboard_read.json has no scalars") }
        var expected: [String: [(step: Double, value: Double, wallTime: Double)]] = [:]
        for (tag, value, step, wallTime) in Self.fixtureScalars {
            expected[tag, default: []].append((Double(step), value, wallTime))
        }
        XCTAssertEqual(Set(read.keys), Set(expected.keys))
        for (tag, points) in expected {
            let seen = read[tag] ?? []
            XCTAssertEqual(seen.map { $0["step"] }, points.map(\.step), tag)
            // Compared as float32: Linux Foundation's JSON parser can be off in the last bit of a double.
            XCTAssertEqual(seen.map { $0["value"].map(Float.init) }, points.map { Float($0.value) }, tag)
            XCTAssertEqual(seen.map { $0["wall_time"] }, points.map(\.wallTime), tag)
        }
    }

    /// Step 0 (omitted on the wire), a step past 2^32 (multi-byte varint), a zero value (still written), a
    /// value float32 rounds.
    static let fixtureScalars: [(String, Double, Int, Double)] = [
        ("train/loss", 2.75, 0, 1_700_000_001.5),
        ("train/learning_rate", 2e-5, 0, 1_700_000_001.5),
        ("train/loss", 2.3125, 1, 1_700_000_002.75),
        ("train/learning_rate", 1e-5, 1, 1_700_000_002.75),
        ("eval/loss", 2.4, 1, 1_700_000_003),
        ("train/loss", 0, 300, 1_700_000_004),
        ("train/loss", 1.1, 5_000_000_000, 1_700_000_005),
    ]
}

/// One decoded Event: the fields the writer sets.
struct DecodedEvent {
    var wallTime: Double?
    var step: Int64 = 0
    var fileVersion: String?
    var tag: String?
    var value: Float?
}

enum EventFileReadError: Error { case truncated(String), badCRC(String), badProto(String) }

/// Splits a TFRecord stream, checking both CRCs of every record, and decodes each record as an Event.
func readEvents(_ data: Data) throws -> [DecodedEvent] {
    let bytes = [UInt8](data)
    var offset = 0, events: [DecodedEvent] = []
    func take(_ count: Int) throws -> ArraySlice<UInt8> {
        guard count >= 0, bytes.count - offset >= count else { throw EventFileReadError.truncated("at \(offset)") }
        defer { offset += count }
        return bytes[offset..<offset + count]
    }
    func littleEndian(_ slice: ArraySlice<UInt8>) -> UInt64 {
        slice.reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
    while offset < bytes.count {
        let lengthBytes = try take(8)
        guard littleEndian(try take(4)) == UInt64(maskedBitwiseCRC32C(Array(lengthBytes))) else { throw EventFileReadError.badCRC("length at \(offset)") }
        let length = littleEndian(lengthBytes)
        guard length < UInt64(bytes.count) else { throw EventFileReadError.truncated("length \(length)") }
        let payload = Array(try take(Int(length)))
        guard littleEndian(try take(4)) == UInt64(maskedBitwiseCRC32C(payload)) else { throw EventFileReadError.badCRC("data at \(offset)") }
        events.append(try decodeEvent(payload))
    }
    return events
}

func decodeEvent(_ bytes: [UInt8]) throws -> DecodedEvent {
    var event = DecodedEvent()
    for field in try protoFields(bytes[...]) {
        switch (field.number, field.value) {
        case (1, .fixed64(let bits)): event.wallTime = Double(bitPattern: bits)
        case (2, .varint(let v)): event.step = Int64(bitPattern: v)
        case (3, .bytes(let b)): event.fileVersion = String(decoding: b, as: UTF8.self)
        case (5, .bytes(let summary)):
            for value in try protoFields(summary[...]) {
                guard value.number == 1, case .bytes(let inner) = value.value else { throw EventFileReadError.badProto("Summary field \(value.number)") }
                for f in try protoFields(inner[...]) {
                    switch (f.number, f.value) {
                    case (1, .bytes(let tag)): event.tag = String(decoding: tag, as: UTF8.self)
                    case (2, .fixed32(let bits)): event.value = Float(bitPattern: bits)
                    default: throw EventFileReadError.badProto("Summary.Value field \(f.number)")
                    }
                }
            }
        default: throw EventFileReadError.badProto("Event field \(field.number)")
        }
    }
    return event
}

enum ProtoValue { case varint(UInt64), fixed64(UInt64), fixed32(UInt32), bytes([UInt8]) }

func protoFields(_ bytes: ArraySlice<UInt8>) throws -> [(number: Int, value: ProtoValue)] {
    var i = bytes.startIndex, fields: [(number: Int, value: ProtoValue)] = []
    func varint() throws -> UInt64 {
        var result: UInt64 = 0, shift: UInt64 = 0
        while true {
            guard i < bytes.endIndex, shift < 64 else { throw EventFileReadError.badProto("varint at \(i)") }
            let byte = bytes[i]; i += 1
            result |= UInt64(byte & 0x7F) << shift
            if byte < 0x80 { return result }
            shift += 7
        }
    }
    func fixed(_ count: Int) throws -> UInt64 {
        guard bytes.endIndex - i >= count else { throw EventFileReadError.badProto("fixed at \(i)") }
        defer { i += count }
        return bytes[i..<i + count].reversed().reduce(0) { $0 << 8 | UInt64($1) }
    }
    while i < bytes.endIndex {
        let key = try varint()
        let number = Int(key >> 3)
        switch key & 7 {
        case 0: fields.append((number, .varint(try varint())))
        case 1: fields.append((number, .fixed64(try fixed(8))))
        case 5: fields.append((number, .fixed32(UInt32(try fixed(4)))))
        case 2:
            let length = try varint()
            guard length <= UInt64(bytes.endIndex - i) else { throw EventFileReadError.badProto("length at \(i)") }
            fields.append((number, .bytes(Array(bytes[i..<i + Int(length)]))))
            i += Int(length)
        default: throw EventFileReadError.badProto("wire type \(key & 7)")
        }
    }
    return fields
}

/// CRC-32C one bit at a time, so the writer's table-driven version is checked against a different derivation.
func bitwiseCRC32C(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes {
        crc ^= UInt32(byte)
        for _ in 0..<8 { crc = (crc >> 1) ^ (0x82F6_3B78 & (0 &- (crc & 1))) }
    }
    return ~crc
}

func maskedBitwiseCRC32C(_ bytes: [UInt8]) -> UInt32 {
    let crc = bitwiseCRC32C(bytes)
    return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
}
