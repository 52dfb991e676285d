import Datasets
import Foundation
import HubClient
import Recipes
import Values
import WeightFiles

/// The processed-dataset cache: what `DataPreparation.prepare` produced (ids, labels, truncation count, skipped
/// rows, detected format) kept on disk so re-runs and sweep members with the same data skip reading and tokenizing.
///
/// One file per fingerprint, `<sha256>.sftdata`. The fingerprint is the sha256 of: the cache format and sftrun
/// versions; the sha256 of every tokenizer file; the recipe's tokenizer options; the chat template text's sha256;
/// every `data` option except those that act after tokenization (packing, shuffling, splits, padding, label checks);
/// each source's settings and the path and full-content sha256 of every file it expands to. Hashing the contents
/// (not size + mtime) costs one read of the files, far less than tokenizing them, and any changed byte misses.
///
/// File layout (little-endian): magic `SFTRDATA`, u32 version, u32 zero, u64 examples, u64 tokens, u64 truncated,
/// u64 format bytes, u64 skipped bytes, 64 ASCII bytes of the fingerprint; int32 lengths[examples], int32
/// ids[tokens], int32 labels[tokens], the format name, the skipped-row messages separated by NUL; 64 ASCII bytes of
/// the sha256 of everything before. Files are written atomically and every field is checked on read.
public struct DataCache: Sendable {
    public static let formatVersion: UInt32 = 1
    public static let fileExtension = "sftdata"
    static let magic = Array("SFTRDATA".utf8)
    static let headerSize = 8 + 4 + 4 + 5 * 8 + 64
    static let digestSize = 64

    public var directory: URL

    public init(directory: URL) { self.directory = directory }

    /// `$SFTRUN_CACHE`, else `$XDG_CACHE_HOME/sftrun/datasets`, else `~/.cache/sftrun/datasets`.
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let d = environment["SFTRUN_CACHE"], !d.isEmpty { return URL(fileURLWithPath: d) }
        if let x = environment["XDG_CACHE_HOME"], !x.isEmpty { return URL(fileURLWithPath: x).appendingPathComponent("sftrun/datasets") }
        let home = environment["HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory()
        return URL(fileURLWithPath: home).appendingPathComponent(".cache/sftrun/datasets")
    }

    public func url(for fingerprint: String) -> URL { directory.appendingPathComponent("\(fingerprint).\(Self.fileExtension)") }

    /// The key of `sources` prepared under `recipe` with this tokenizer and chat template (see the type's comment).
    /// Throws when a source names no local file (the uncached path then reports it as usual).
    public static func fingerprint(recipe: Recipe, sources: [Recipe.Source], tokenizerFolder: URL, chatTemplate: String?) throws -> String {
        var lines = ["sftrun data cache \(formatVersion)", "sftrun \(RecipeLock.sftrunVersion)"]
        for name in DataPreparation.tokenizerFiles {
            let file = tokenizerFolder.appendingPathComponent(name)
            if FileManager.default.fileExists(atPath: file.path) { lines.append("tokenizer file \(name) \(try FileDigest.sha256(ofUnchanged: file))") }
        }
        lines.append("tokenizer options \(recipe.tokenizer)")
        lines.append("chat template \(chatTemplate.map { FileDigest.sha256(Array($0.utf8)) } ?? "none")")
        lines.append("data options \(tokenizationOptions(recipe.data))")
        for source in sources {
            lines.append("source \(source)")
            for file in try LocalSource.expand(source.path) {
                lines.append("file \(file) \(try FileDigest.sha256(ofUnchanged: URL(fileURLWithPath: file)))")
            }
        }
        return FileDigest.sha256(Array(lines.joined(separator: "\n").utf8))
    }

    /// The data options with every field that acts after tokenization set to a constant, so sweeps over them (and
    /// over training options) share one cache file. New fields count by default: a missed hit is cheap, stale data is not.
    static func tokenizationOptions(_ data: Recipe.Data) -> String {
        var d = data
        d.train = []; d.eval = []; d.valSetSize = 0; d.packing = false; d.packingStrategy = ""; d.evalPacking = false
        d.padToMultipleOf = nil; d.shuffle = false; d.maxUnsupervisedFraction = 0; d.cache = true
        return "\(d)"
    }

    public enum Lookup {
        case hit(DataPreparation.Prepared)
        case miss
        /// A file is there but unusable (truncated, damaged, another version): the reason.
        case damaged(String)
    }

    public func read(_ fingerprint: String) -> Lookup {
        let file = url(for: fingerprint)
        guard FileManager.default.fileExists(atPath: file.path) else { return .miss }
        guard let data = FileManager.default.contents(atPath: file.path) else { return .damaged("cannot read it") }
        do { return .hit(try Self.decode([UInt8](data), fingerprint: fingerprint, file: file.path)) } catch {
            return .damaged("\(error)")
        }
    }

    /// Writes the cache file atomically (temp file, fsync, rename) and returns where it is.
    @discardableResult
    public func write(_ prepared: DataPreparation.Prepared, fingerprint: String) throws -> URL {
        let file = url(for: fingerprint)
        try AtomicFile.write(Self.encode(prepared, fingerprint: fingerprint), to: file.path)
        return file
    }

    static func encode(_ p: DataPreparation.Prepared, fingerprint: String) -> [UInt8] {
        let tokens = p.examples.reduce(0) { $0 + $1.inputIDs.count }
        let format = Array(p.format.rawValue.utf8)
        let skipped = Array(p.skipped.map { $0.replacingOccurrences(of: "\0", with: " ") }.joined(separator: "\0").utf8)
        var out = [UInt8]()
        out.reserveCapacity(headerSize + 4 * (p.examples.count + 2 * tokens) + format.count + skipped.count + digestSize)
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: Int) { withUnsafeBytes(of: UInt64(v).littleEndian) { out += $0 } }
        func i32(_ v: Int) { withUnsafeBytes(of: Int32(truncatingIfNeeded: v).littleEndian) { out += $0 } }
        out += magic
        u32(formatVersion); u32(0)
        u64(p.examples.count); u64(tokens); u64(p.truncated); u64(format.count); u64(skipped.count)
        out += Array(fingerprint.utf8.prefix(64)) + [UInt8](repeating: 0x20, count: max(0, 64 - fingerprint.utf8.count))
        for e in p.examples { i32(e.inputIDs.count) }
        for e in p.examples { for id in e.inputIDs { i32(id) } }
        for e in p.examples { for l in e.labels { i32(l) } }
        out += format
        out += skipped
        out += Array(FileDigest.sha256(out).utf8)
        return out
    }

    /// Checks everything before trusting it: magic, version, fingerprint, sizes against the file length (no
    /// overflow), the checksum, lengths that add up, labels the same length as ids, a known format.
    static func decode(_ bytes: [UInt8], fingerprint: String, file: String) throws -> DataPreparation.Prepared {
        guard bytes.count >= headerSize + digestSize else {
            throw WeightFileError(file: file, "is \(bytes.count) bytes, shorter than a data cache header")
        }
        guard Array(bytes[0..<8]) == magic else { throw WeightFileError(file: file, "is not an sftrun data cache file (bad magic)") }
        var reader = ByteReader(bytes: bytes, offset: 8)
        let version = try reader.u32(file)
        guard version == formatVersion else {
            throw WeightFileError(file: file, "has cache format \(version), this sftrun writes \(formatVersion)")
        }
        _ = try reader.u32(file)
        let counts = try (0..<5).map { _ in try reader.u64(file) }
        let limit = UInt64(bytes.count)
        guard counts.allSatisfy({ $0 <= limit }) else { throw WeightFileError(file: file, "has counts larger than the file; it is damaged") }
        let (examples, tokens, truncated, formatBytes, skippedBytes) = (Int(counts[0]), Int(counts[1]), Int(counts[2]), Int(counts[3]), Int(counts[4]))
        let stored = String(decoding: try reader.take(64, file), as: UTF8.self).trimmingCharacters(in: .whitespaces)
        guard stored == fingerprint else { throw WeightFileError(file: file, "holds fingerprint \(stored), not \(fingerprint)") }
        let expected = headerSize + 4 * examples + 8 * tokens + formatBytes + skippedBytes + digestSize
        guard expected == bytes.count else {
            throw WeightFileError(file: file, "is \(bytes.count) bytes but its header implies \(expected) (truncated or damaged)")
        }
        let body = bytes.count - digestSize
        guard String(decoding: bytes[body...], as: UTF8.self) == FileDigest.sha256(Array(bytes[..<body])) else {
            throw WeightFileError(file: file, "fails its sha256 check (damaged)")
        }
        let lengths = try reader.int32s(examples, file)
        guard lengths.allSatisfy({ $0 > 0 }), lengths.reduce(0, +) == tokens else {
            throw WeightFileError(file: file, "has example lengths that do not add up to its \(tokens) tokens")
        }
        let ids = try reader.int32s(tokens, file), labels = try reader.int32s(tokens, file)
        guard let format = DatasetFormat(rawValue: String(decoding: try reader.take(formatBytes, file), as: UTF8.self)) else {
            throw WeightFileError(file: file, "names an unknown dataset format")
        }
        let skippedText = String(decoding: try reader.take(skippedBytes, file), as: UTF8.self)
        guard truncated <= examples else { throw WeightFileError(file: file, "counts more truncated examples than examples") }
        var out = DataPreparation.Prepared(examples: [], texts: [], skipped: skippedBytes == 0 ? [] : skippedText.components(separatedBy: "\0"),
                                           truncated: truncated, format: format)
        out.examples.reserveCapacity(examples)
        var start = 0
        for n in lengths {
            out.examples.append(TokenizedExample(inputIDs: Array(ids[start..<(start + n)]), labels: Array(labels[start..<(start + n)])))
            start += n
        }
        return out
    }

    /// Bounds-checked little-endian reads.
    struct ByteReader {
        let bytes: [UInt8]
        var offset: Int

        mutating func take(_ n: Int, _ file: String) throws -> ArraySlice<UInt8> {
            guard n >= 0, n <= bytes.count - offset else { throw WeightFileError(file: file, "ends early (truncated)") }
            defer { offset += n }
            return bytes[offset..<(offset + n)]
        }

        mutating func u32(_ file: String) throws -> UInt32 {
            try take(4, file).reversed().reduce(0) { $0 << 8 | UInt32($1) }
        }

        mutating func u64(_ file: String) throws -> UInt64 {
            try take(8, file).reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }

        mutating func int32s(_ n: Int, _ file: String) throws -> [Int] {
            let slice = try take(4 * n, file)
            return [Int](unsafeUninitializedCapacity: n) { buffer, count in
                slice.withUnsafeBytes { raw in
                    for i in 0..<n { buffer[i] = Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self))) }
                }
                count = n
            }
        }
    }

    /// One cache file as `sftrun cache ls` shows it (header fields only; the file is not verified).
    public struct Entry {
        public var url: URL
        public var bytes: Int
        public var examples: Int
        public var tokens: Int
        public var modified: Date?
    }

    public func entries() -> [Entry] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.filter { $0.hasSuffix(".\(Self.fileExtension)") }.sorted().compactMap { name in
            let url = directory.appendingPathComponent(name)
            let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
            guard let h = FileHandle(forReadingAtPath: url.path) else { return nil }
            defer { try? h.close() }
            let head = [UInt8]((try? h.read(upToCount: Self.headerSize)) ?? Data())
            var examples = -1, tokens = -1
            if head.count == Self.headerSize, Array(head[0..<8]) == Self.magic {
                var r = ByteReader(bytes: head, offset: 16)
                examples = (try? r.u64(url.path)).map { Int(clamping: $0) } ?? -1
                tokens = (try? r.u64(url.path)).map { Int(clamping: $0) } ?? -1
            }
            return Entry(url: url, bytes: (attributes?[.size] as? Int) ?? head.count, examples: examples, tokens: tokens,
                         modified: attributes?[.modificationDate] as? Date)
        }
    }

    /// Removes every cache file (and leftover temp files of interrupted writes); returns how many.
    @discardableResult
    public func clear() throws -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        var removed = 0
        for name in names where name.hasSuffix(".\(Self.fileExtension)") || (name.hasPrefix(".") && name.contains(".\(Self.fileExtension).tmp-")) {
            try FileManager.default.removeItem(at: directory.appendingPathComponent(name))
            removed += 1
        }
        return removed
    }
}

extension DataPreparation {
    /// `loadRows` + `prepare` through the data cache when one is given: a hit skips reading and tokenizing; a miss
    /// tokenizes and writes the file; a damaged file is reported and replaced. `report` gets one line per call.
    public func loadAndPrepare(_ sources: [Recipe.Source], cache: DataCache?, tokenizerFolder: URL,
                               report: (String) -> Void) throws -> Prepared {
        guard let cache,
              let key = try? DataCache.fingerprint(recipe: recipe, sources: sources, tokenizerFolder: tokenizerFolder, chatTemplate: chat?.source)
        else { return try prepare(loadRows(sources).rows) }
        switch cache.read(key) {
        case .hit(let prepared):
            report("data: cache hit \(cache.url(for: key).path)")
            return prepared
        case .damaged(let why):
            report("warning: data cache: \(why); tokenizing again")
        case .miss:
            break
        }
        let prepared = try prepare(loadRows(sources).rows)
        do {
            let url = try cache.write(prepared, fingerprint: key)
            report("data: tokenized \(prepared.examples.count) examples, cached at \(url.path)")
        } catch {
            report("warning: data cache: \(error); continuing without it")
        }
        return prepared
    }
}
