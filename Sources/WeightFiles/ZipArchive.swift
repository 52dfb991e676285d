#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A zip file mapped into memory, read only as far as torch.save archives need: stored (uncompressed) entries,
/// with ZIP64 records because torch writes them on every file and checkpoints pass 4 GB. Every offset and size
/// from the file is checked against the file before it is used.
public final class ZipArchive: @unchecked Sendable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        /// 0 = stored, 8 = deflate; only stored entries can be read here.
        public var method: UInt16
        public var crc32: UInt32
        public var compressedSize: Int
        public var uncompressedSize: Int
        public var localHeaderOffset: Int
        /// Where the entry's bytes start, past the local header and its extra field.
        public var dataOffset: Int
    }

    /// Archives with more entries than this are refused: a guard against a hostile entry count.
    public static let maxEntries = 1_000_000

    public let url: URL
    /// Entries in central-directory order.
    public let entries: [Entry]
    private let byName: [String: Int]
    private let mapping: MappedFile
    public var fileSize: Int { mapping.size }

    public init(url: URL) throws {
        self.url = url
        let path = url.path
        mapping = try MappedFile(path: path)
        do {
            let parsed = try Self.parse(ZipBytes(raw: mapping.bytes, path: path))
            self.entries = parsed
            var index: [String: Int] = [:]
            for (i, e) in parsed.enumerated() {
                guard index[e.name] == nil else {
                    throw WeightFileError(file: path, "zip entry \"\(e.name)\" appears twice in the central directory; the archive is corrupt, re-save it")
                }
                index[e.name] = i
            }
            self.byName = index
        }
    }

    public func entry(_ name: String) -> Entry? { byName[name].map { entries[$0] } }

    /// A stored entry's bytes, valid while this archive is alive. Deflated entries are refused: Foundation on Linux
    /// has no inflate, and torch.save never compresses.
    public func bytes(_ e: Entry) throws -> UnsafeRawBufferPointer {
        guard e.method == 0 else {
            let how = e.method == 8 ? "deflate-compressed" : "compressed with zip method \(e.method)"
            throw WeightFileError(file: url.path, "zip entry \"\(e.name)\" is \(how), and only stored entries are read; re-save with torch.save (which stores entries uncompressed) or convert to safetensors")
        }
        guard let base = mapping.bytes.baseAddress else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + e.dataOffset, count: e.uncompressedSize)
    }

    /// A stored entry's bytes after checking them against the CRC-32 the archive recorded.
    public func verifiedBytes(_ e: Entry) throws -> UnsafeRawBufferPointer {
        let b = try bytes(e)
        let c = CRC32.checksum(b)
        guard c == e.crc32 else {
            throw WeightFileError(file: url.path, "zip entry \"\(e.name)\" has CRC-32 \(hex(c)) but the archive records \(hex(e.crc32)); the file is corrupt, download it again")
        }
        return b
    }

    private func hex(_ v: UInt32) -> String { "0x" + String(v, radix: 16) }

    // MARK: - Parsing

    private static let eocdSignature: UInt32 = 0x0605_4B50
    private static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    private static let zip64EOCDSignature: UInt32 = 0x0606_4B50
    private static let centralSignature: UInt32 = 0x0201_4B50
    private static let localSignature: UInt32 = 0x0403_4B50

    private static func parse(_ z: ZipBytes) throws -> [Entry] {
        let size = z.raw.count
        guard size >= 22 else {
            throw z.fail("file is \(size) bytes, shorter than a zip end-of-central-directory record (22 bytes); the file is truncated, download it again")
        }
        // The end record sits in the last 22 + 65535 (maximum comment) bytes; search backwards for its signature.
        var eocd = -1
        var i = size - 22
        let lowest = max(0, size - 22 - 65_535)
        while i >= lowest {
            if try z.u32(i) == eocdSignature {
                let commentLength = Int(try z.u16(i + 20))
                if i + 22 + commentLength == size { eocd = i; break }
            }
            i -= 1
        }
        guard eocd >= 0 else {
            throw z.fail("no zip end-of-central-directory record; the file is not a zip archive or it is truncated, download it again")
        }
        var count = Int(try z.u16(eocd + 10))
        var cdSize = Int(try z.u32(eocd + 12))
        var cdOffset = Int(try z.u32(eocd + 16))
        var cdLimit = eocd
        if eocd >= 20, try z.u32(eocd - 20) == zip64LocatorSignature {
            let locator = eocd - 20
            let recordOffset = try z.u64(locator + 8)
            guard locator >= 56, recordOffset <= UInt64(locator - 56) else {
                throw z.fail("ZIP64 end-of-central-directory record offset \(recordOffset) is past the ZIP64 locator at \(eocd - 20); the archive is corrupt, download it again")
            }
            let r = Int(recordOffset)
            guard try z.u32(r) == zip64EOCDSignature else {
                throw z.fail("no ZIP64 end-of-central-directory record at offset \(r) named by the ZIP64 locator; the archive is corrupt, download it again")
            }
            count = try z.int64(r + 32, "ZIP64 entry count")
            cdSize = try z.int64(r + 40, "ZIP64 central directory size")
            cdOffset = try z.int64(r + 48, "ZIP64 central directory offset")
            cdLimit = r
        }
        guard cdOffset <= cdLimit, cdSize <= cdLimit - cdOffset else {
            throw z.fail("central directory (offset \(cdOffset), \(cdSize) bytes) runs past the end records at \(cdLimit); the file is truncated or corrupt, download it again")
        }
        guard count <= maxEntries, count <= cdSize / 46 else {
            throw z.fail("central directory claims \(count) entries, more than its \(cdSize) bytes can hold (or over the \(maxEntries) limit); the archive is corrupt, download it again")
        }
        var out: [Entry] = []
        out.reserveCapacity(count)
        var at = cdOffset
        let cdEnd = cdOffset + cdSize
        for n in 0..<count {
            guard cdEnd - at >= 46, try z.u32(at) == centralSignature else {
                throw z.fail("central directory entry \(n) at offset \(at) has no central header signature; the archive is corrupt, download it again")
            }
            let flags = try z.u16(at + 8)
            let method = try z.u16(at + 10)
            let crc = try z.u32(at + 16)
            var compressed = UInt64(try z.u32(at + 20))
            var uncompressed = UInt64(try z.u32(at + 24))
            let nameLength = Int(try z.u16(at + 28))
            let extraLength = Int(try z.u16(at + 30))
            let commentLength = Int(try z.u16(at + 32))
            var localOffset = UInt64(try z.u32(at + 42))
            let variable = nameLength + extraLength + commentLength
            guard variable <= cdEnd - at - 46 else {
                throw z.fail("central directory entry \(n) at offset \(at): name, extra and comment (\(variable) bytes) run past the central directory; the archive is corrupt, download it again")
            }
            guard let name = String(validating: UnsafeRawBufferPointer(rebasing: z.raw[(at + 46)..<(at + 46 + nameLength)]), as: UTF8.self) else {
                throw z.fail("central directory entry \(n) at offset \(at) has a name that is not UTF-8; the archive is corrupt, download it again")
            }
            guard flags & 1 == 0 else {
                throw z.fail("zip entry \"\(name)\" is encrypted; torch archives are never encrypted, download the file again")
            }
            // ZIP64 extended information: 8-byte fields for each 32-bit field that is saturated, in this order.
            var x = at + 46 + nameLength
            let extraEnd = x + extraLength
            while extraEnd - x >= 4 {
                let tag = try z.u16(x), len = Int(try z.u16(x + 2))
                guard len <= extraEnd - x - 4 else {
                    throw z.fail("zip entry \"\(name)\": extra field runs past its declared length; the archive is corrupt, download it again")
                }
                if tag == 1 {
                    var f = x + 4
                    let fieldEnd = f + len
                    func next(_ what: String) throws -> UInt64 {
                        guard fieldEnd - f >= 8 else {
                            throw z.fail("zip entry \"\(name)\": ZIP64 extra field lacks the \(what); the archive is corrupt, download it again")
                        }
                        defer { f += 8 }
                        return try z.u64(f)
                    }
                    if uncompressed == 0xFFFF_FFFF { uncompressed = try next("uncompressed size") }
                    if compressed == 0xFFFF_FFFF { compressed = try next("compressed size") }
                    if localOffset == 0xFFFF_FFFF { localOffset = try next("local header offset") }
                }
                x += 4 + len
            }
            guard localOffset <= UInt64(cdOffset), compressed <= UInt64(size) else {
                throw z.fail("zip entry \"\(name)\": local header offset \(localOffset) or size \(compressed) lies past the central directory at \(cdOffset); the archive is corrupt, download it again")
            }
            let local = Int(localOffset)
            guard cdOffset - local >= 30, try z.u32(local) == localSignature else {
                throw z.fail("zip entry \"\(name)\": no local header signature at offset \(local); the archive is corrupt, download it again")
            }
            let dataOffset = local + 30 + Int(try z.u16(local + 26)) + Int(try z.u16(local + 28))
            guard dataOffset <= cdOffset, Int(compressed) <= cdOffset - dataOffset else {
                throw z.fail("zip entry \"\(name)\": data (offset \(dataOffset), \(compressed) bytes) runs past the central directory at \(cdOffset); the file is truncated or corrupt, download it again")
            }
            guard method != 0 || compressed == uncompressed else {
                throw z.fail("zip entry \"\(name)\" is stored but its sizes differ (\(compressed) vs \(uncompressed)); the archive is corrupt, download it again")
            }
            out.append(Entry(name: name, method: method, crc32: crc, compressedSize: Int(compressed),
                             uncompressedSize: Int(clamping: uncompressed), localHeaderOffset: local, dataOffset: dataOffset))
            at += 46 + variable
        }
        return out
    }
}

/// Bounds-checked little-endian reads over the mapped file.
struct ZipBytes {
    let raw: UnsafeRawBufferPointer
    let path: String

    func fail(_ m: String) -> WeightFileError { WeightFileError(file: path, m) }

    private func check(_ at: Int, _ n: Int) throws {
        guard at >= 0, n <= raw.count, at <= raw.count - n else {
            throw fail("a \(n)-byte zip field at offset \(at) lies past the end of the file (\(raw.count) bytes); the file is truncated, download it again")
        }
    }

    func u16(_ at: Int) throws -> UInt16 {
        try check(at, 2)
        return UInt16(raw[at]) | UInt16(raw[at + 1]) << 8
    }

    func u32(_ at: Int) throws -> UInt32 {
        try check(at, 4)
        var v: UInt32 = 0
        for k in 0..<4 { v |= UInt32(raw[at + k]) << (8 * UInt32(k)) }
        return v
    }

    func u64(_ at: Int) throws -> UInt64 {
        try check(at, 8)
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(raw[at + k]) << (8 * UInt64(k)) }
        return v
    }

    /// A 64-bit field that must fit the file: anything larger is refused before it reaches arithmetic.
    func int64(_ at: Int, _ what: String) throws -> Int {
        let v = try u64(at)
        guard v <= UInt64(raw.count) else {
            throw fail("\(what) \(v) is larger than the file (\(raw.count) bytes); the archive is corrupt, download it again")
        }
        return Int(v)
    }
}

/// CRC-32 (IEEE, reflected), as zip records it per entry.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { i in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ b: UnsafeRawBufferPointer) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for byte in b { c = t[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }
}
