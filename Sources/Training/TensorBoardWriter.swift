import Foundation

/// A problem writing a training log file (TensorBoard events, loss plot); says which file and what to do.
public struct LogFileError: Error, CustomStringConvertible {
    public let file: String
    public let message: String

    public init(file: String, _ message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}

/// Writes scalars as a TensorBoard event file, so `tensorboard --logdir <directory>` shows the training curves
/// without any Python or protobuf dependency on our side.
///
/// The file is a TFRecord stream of hand-encoded `tensorflow.Event` protos: first the `brain.Event:2` version
/// record, then one Event per scalar. Scalars are kept in memory until `flush()` (call it once per logging step),
/// which appends them and syncs the file, so a crash loses at most the scalars of the step not yet flushed.
public final class TensorBoardWriter {
    /// The event file being written; its name contains "tfevents", which TensorBoard's directory scan looks for.
    public let fileURL: URL
    private var handle: FileHandle?
    private var pending = Data()

    /// Process-wide counter for the file name's last part, so two writers opened in the same second differ.
    nonisolated(unsafe) private static var openedCount = 0
    private static let openedCountLock = NSLock()

    /// Creates `directory` if needed and a new event file in it named like TensorFlow's writer does:
    /// `events.out.tfevents.<unix-seconds>.<hostname>.<pid>.<counter>`.
    public convenience init(directory: URL) throws {
        let now = Date().timeIntervalSince1970
        let counter: Int = Self.openedCountLock.withLock {
            defer { Self.openedCount += 1 }
            return Self.openedCount
        }
        let host = ProcessInfo.processInfo.hostName.map { $0 == "/" ? "_" : $0 }
        let name = "events.out.tfevents.\(Int(now)).\(String(host)).\(ProcessInfo.processInfo.processIdentifier).\(counter)"
        try self.init(directory: directory, fileName: name, startTime: now)
    }

    /// The deterministic core: a fixed file name and version-record wall time (tests and fixtures use it).
    init(directory: URL, fileName: String, startTime: Double) throws {
        fileURL = directory.appendingPathComponent(fileName)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw LogFileError(file: directory.path, "cannot create the TensorBoard log folder (\(error.localizedDescription)); check the output path and its permissions")
        }
        if FileManager.default.fileExists(atPath: fileURL.path) {
            throw LogFileError(file: fileURL.path, "an event file of this name already exists; refusing to overwrite it, use a fresh log folder")
        }
        guard FileManager.default.createFile(atPath: fileURL.path, contents: nil),
              let handle = FileHandle(forWritingAtPath: fileURL.path) else {
            throw LogFileError(file: fileURL.path, "cannot create the TensorBoard event file; check the folder's permissions and free space")
        }
        self.handle = handle
        var version = ProtobufEncoder()
        version.double(field: 1, startTime)
        version.string(field: 3, "brain.Event:2")
        pending.append(TFRecord.frame(version.bytes))
        try flush()
    }

    deinit { close() }

    /// Queues one scalar (`tag` as TensorBoard groups it, e.g. "train/loss"); stored as float32 like TensorBoard's
    /// `simple_value`. `wallTime` is seconds since 1970, now if nil.
    public func addScalar(_ tag: String, _ value: Double, step: Int, wallTime: Double? = nil) throws {
        guard handle != nil else {
            throw LogFileError(file: fileURL.path, "scalar '\(tag)' added after close(); add scalars before closing the writer")
        }
        guard !tag.isEmpty else {
            throw LogFileError(file: fileURL.path, "scalar tag is empty; give each scalar a name such as \"train/loss\"")
        }
        var summaryValue = ProtobufEncoder()
        summaryValue.string(field: 1, tag)
        summaryValue.float(field: 2, Float(value), always: true)
        var summary = ProtobufEncoder()
        summary.message(field: 1, summaryValue)
        var event = ProtobufEncoder()
        event.double(field: 1, wallTime ?? Date().timeIntervalSince1970)
        event.int64(field: 2, Int64(step))
        event.message(field: 5, summary)
        pending.append(TFRecord.frame(event.bytes))
    }

    /// Appends the queued scalars to the file and syncs it to disk.
    public func flush() throws {
        guard let handle else {
            if pending.isEmpty { return }
            throw LogFileError(file: fileURL.path, "flush() after close(); the writer no longer has the file open")
        }
        guard !pending.isEmpty else { return }
        do {
            try handle.write(contentsOf: pending)
            try handle.synchronize()
        } catch {
            throw LogFileError(file: fileURL.path, "cannot append to the event file (\(error.localizedDescription)); check free disk space")
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Flushes what is queued and closes the file; later `addScalar` calls throw. Errors here are dropped because
    /// closing happens on teardown paths; call `flush()` first to see them.
    public func close() {
        guard let handle else { return }
        try? flush()
        try? handle.close()
        self.handle = nil
        pending.removeAll()
    }
}

/// TFRecord framing: `uint64 length LE, masked crc32c(length), data, masked crc32c(data)`.
enum TFRecord {
    static func frame(_ data: [UInt8]) -> Data {
        var out = Data(capacity: data.count + 16)
        let length = littleEndianBytes(UInt64(data.count))
        out.append(contentsOf: length)
        out.append(contentsOf: littleEndianBytes(CRC32C.masked(length)))
        out.append(contentsOf: data)
        out.append(contentsOf: littleEndianBytes(CRC32C.masked(data)))
        return out
    }

    static func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
    }
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum TFRecord uses.
enum CRC32C {
    static let table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
        return crc
    }

    static func checksum<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }

    /// TFRecord stores CRCs rotated and offset so that a CRC of data containing CRCs stays well distributed.
    static func masked<Bytes: Sequence>(_ bytes: Bytes) -> UInt32 where Bytes.Element == UInt8 {
        let crc = checksum(bytes)
        return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
    }
}

/// Just enough protobuf wire format for Event/Summary: varints, fixed64/fixed32 and length-delimited fields.
/// Zero-valued plain fields are omitted, as proto3 serializers do; oneof members (`always`) are written anyway.
struct ProtobufEncoder {
    private(set) var bytes: [UInt8] = []

    private mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    private mutating func key(_ field: Int, wireType: UInt64) {
        varint(UInt64(field) << 3 | wireType)
    }

    mutating func double(field: Int, _ value: Double) {
        guard value.bitPattern != 0 else { return }
        key(field, wireType: 1)
        bytes.append(contentsOf: TFRecord.littleEndianBytes(value.bitPattern))
    }

    mutating func float(field: Int, _ value: Float, always: Bool = false) {
        guard always || value.bitPattern != 0 else { return }
        key(field, wireType: 5)
        bytes.append(contentsOf: TFRecord.littleEndianBytes(value.bitPattern))
    }

    /// Negative values take ten bytes (two's complement), as protobuf's int64 does.
    mutating func int64(field: Int, _ value: Int64) {
        guard value != 0 else { return }
        key(field, wireType: 0)
        varint(UInt64(bitPattern: value))
    }

    mutating func string(field: Int, _ value: String) {
        lengthDelimited(field: field, Array(value.utf8))
    }

    mutating func message(field: Int, _ value: ProtobufEncoder) {
        lengthDelimited(field: field, value.bytes)
    }

    private mutating func lengthDelimited(field: Int, _ value: [UInt8]) {
        key(field, wireType: 2)
        varint(UInt64(value.count))
        bytes.append(contentsOf: value)
    }
}
