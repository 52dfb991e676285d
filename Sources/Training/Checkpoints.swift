import Foundation
import Values

/// `checkpoint-N/` folders whose existence means completeness: everything is written into
/// `.checkpoint-N.tmp-PID/`, each file fsynced, `manifest.json` (sizes and sha256) last, then the folder is
/// renamed into place and its parent fsynced. Resume verifies the manifest and falls back to an older
/// checkpoint when the newest is damaged.
public struct CheckpointStore {
    public let directory: URL
    /// sha256 hex of a file (injected: the C implementation lives with the Hub client).
    public let digest: (URL) throws -> String
    public let manifestName = "manifest.json"

    public init(directory: URL, digest: @escaping (URL) throws -> String) {
        self.directory = directory
        self.digest = digest
    }

    public func url(step: Int) -> URL { directory.appendingPathComponent("checkpoint-\(step)") }

    /// Committed checkpoints, newest first.
    public func checkpoints() -> [(step: Int, url: URL)] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return names.compactMap { name -> (Int, URL)? in
            guard name.hasPrefix("checkpoint-"), let n = Int(name.dropFirst("checkpoint-".count)) else { return nil }
            return (n, directory.appendingPathComponent(name))
        }.sorted { $0.0 > $1.0 }
    }

    /// Removes staging folders left by a killed run.
    public func removeStaleStaging() {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        for n in names where n.hasPrefix(".checkpoint-") && n.contains(".tmp-") {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(n))
        }
    }

    /// Writes a checkpoint: `fill(staging)` writes the files, then the manifest and the rename commit it.
    public func save(step: Int, fingerprint: [String: String], fill: (URL) throws -> Void) throws -> URL {
        let fm = FileManager.default
        let staging = directory.appendingPathComponent(".checkpoint-\(step).tmp-\(getpid())")
        try? fm.removeItem(at: staging)
        do {
            try fm.createDirectory(at: staging, withIntermediateDirectories: true)
            try fill(staging)
            var files: [Value] = []
            for name in try fm.contentsOfDirectory(atPath: staging.path).sorted() {
                let f = staging.appendingPathComponent(name)
                let size = (try fm.attributesOfItem(atPath: f.path)[.size] as? Int) ?? 0
                files.append(.object(["path": .string(name), "size": .int(size), "sha256": .string(try digest(f))]))
            }
            let fp = Value.object(.init(uniqueKeysWithValues: fingerprint.sorted { $0.key < $1.key }.map { ($0.key, Value.string($0.value)) }))
            let manifest: Value = .object(["step": .int(step), "files": .array(files), "fingerprint": fp])
            try AtomicFile.write(JSON.serialize(manifest, pretty: true) + "\n", to: staging.appendingPathComponent(manifestName).path)
            let final = url(step: step)
            try? fm.removeItem(at: final)
            guard rename(staging.path, final.path) == 0 else {
                throw TrainingError("cannot commit checkpoint \(final.path): \(String(cString: strerror(errno)))")
            }
            Self.fsyncDirectory(directory.path)
            return final
        } catch {
            try? fm.removeItem(at: staging)
            throw TrainingError("saving checkpoint-\(step) failed: \(error); the previous checkpoint is untouched")
        }
    }

    static func fsyncDirectory(_ path: String) {
        let fd = open(path, O_RDONLY)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    /// Checks a checkpoint's files against its manifest; returns its fingerprint, or why it is unusable.
    public func verify(_ checkpoint: URL) -> Result<[String: String], TrainingError> {
        let m = checkpoint.appendingPathComponent(manifestName)
        guard let data = FileManager.default.contents(atPath: m.path), let v = try? JSON.parse(bytes: [UInt8](data)) else {
            return .failure(TrainingError("\(checkpoint.path): no readable manifest.json; the checkpoint is incomplete"))
        }
        for f in v["files"]?.arrayValue ?? [] {
            guard let name = f["path"]?.stringValue else { continue }
            let url = checkpoint.appendingPathComponent(name)
            let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? nil
            guard size == f["size"]?.intValue else {
                return .failure(TrainingError("\(url.path): size differs from the manifest; the checkpoint is damaged"))
            }
            guard let hash = try? digest(url), hash == f["sha256"]?.stringValue else {
                return .failure(TrainingError("\(url.path): sha256 differs from the manifest; the checkpoint is damaged"))
            }
        }
        var fp: [String: String] = [:]
        for (k, val) in v["fingerprint"]?.objectValue ?? [:] { fp[k] = val.stringValue }
        return .success(fp)
    }

    /// The newest checkpoint that verifies; damaged newer ones are reported through `warn`.
    public func latestValid(warn: (String) -> Void) -> (url: URL, fingerprint: [String: String])? {
        for c in checkpoints() {
            switch verify(c.url) {
            case .success(let fp): return (c.url, fp)
            case .failure(let e): warn("\(e); falling back to an older checkpoint")
            }
        }
        return nil
    }

    /// Keeps the newest `limit` checkpoints (never `keep`).
    public func rotate(limit: Int?, keep: URL?) {
        guard let limit, limit > 0 else { return }
        for c in checkpoints().dropFirst(limit) where c.url.standardizedFileURL != keep?.standardizedFileURL {
            try? FileManager.default.removeItem(at: c.url)
        }
    }
}
