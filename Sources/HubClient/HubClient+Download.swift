import Foundation
import Values

extension HubClient {
    /// Downloads one file into the cache (or finds it there) and returns its `snapshots/<commit>/<path>` URL.
    /// A 40-hex `revision` already cached makes no request; offline mode uses `refs/` only.
    public func downloadFile(repo: String, type: RepoType = .model, revision: String = "main", path: String) throws(HubError) -> URL {
        try RepoPath.validate(path)
        if revision.isCommitHash {
            let snap = cache.snapshotPath(repo, type, commit: revision, path: path)
            if FileManager.default.fileExists(atPath: snap.path) { progress.fileFinished(path, fromCache: true); return snap }
            if FileManager.default.fileExists(atPath: cache.noExistPath(repo, type, commit: revision, path: path).path) {
                throw .entryNotFound(repo: repo, revision: revision, path: path)
            }
        }
        let cachedCommit = cache.commit(for: revision, repo: repo, type: type)
        let cached = cachedCommit.map { cache.snapshotPath(repo, type, commit: $0, path: path) }
            .flatMap { FileManager.default.fileExists(atPath: $0.path) ? $0 : nil }
        if configuration.offline {
            guard let cached else { throw .offlineMissing(repo: repo, revision: revision, path: path, offline: true) }
            progress.fileFinished(path, fromCache: true)
            return cached
        }
        var notFoundCommit: String?
        let meta: FileMetadata
        do {
            // With a cached copy, fail fast to it; without one, retry (huggingface_hub `_get_metadata_or_catch_error`).
            meta = try fileMetadata(repo: repo, type: type, revision: revision, path: path,
                                    retries: cached == nil ? configuration.maxRetries : 0, notFoundCommit: &notFoundCommit)
        } catch {
            if case .entryNotFound = error, let c = notFoundCommit, c.isCommitHash {
                let marker = cache.noExistPath(repo, type, commit: c, path: path)
                try? FileManager.default.createDirectory(at: marker.deletingLastPathComponent(), withIntermediateDirectories: true)
                _ = FileManager.default.createFile(atPath: marker.path, contents: nil)
                try? cache.writeRef(repo, type, revision: revision, commit: c)
            }
            if error.allowsCacheFallback {
                if let cached {
                    warn("\(error.description) Using the cached copy \(cached.path).")
                    progress.fileFinished(path, fromCache: true)
                    return cached
                }
                if case .network = error { throw HubError.offlineMissing(repo: repo, revision: revision, path: path, offline: false) }
            }
            throw error
        }
        try cache.writeRef(repo, type, revision: revision, commit: meta.commit)
        let snap = cache.snapshotPath(repo, type, commit: meta.commit, path: path)
        if FileManager.default.fileExists(atPath: snap.path) { progress.fileFinished(path, fromCache: true); return snap }
        let blob = cache.blobPath(repo, type, etag: meta.etag)
        cache.createCachedirTag()
        try withLock(cache.lockPath(repo, type, etag: meta.etag)) { () throws(HubError) in
            // Another process may have finished it while we waited (without symlinks its blob is gone then).
            if FileManager.default.fileExists(atPath: snap.path) { return }
            let newBlob = !FileManager.default.fileExists(atPath: blob.path)
            if newBlob {
                do throws(HubError) {
                    try downloadBlob(meta, to: blob, displayName: path)
                } catch {
                    guard case .cdnRejected = error else { throw error }
                    // Expired signed CDN URL: re-HEAD the resolve URL for a fresh Location and resume (D7).
                    var ignored: String?
                    var fresh = try fileMetadata(repo: repo, type: type, revision: meta.commit, path: path,
                                                 retries: configuration.maxRetries, notFoundCommit: &ignored)
                    fresh.etag = meta.etag
                    try downloadBlob(fresh, to: blob, displayName: path)
                }
            }
            try makeSnapshotLink(snap, path: path, etag: meta.etag, blob: blob, newBlob: newBlob)
        }
        progress.fileFinished(path, fromCache: false)
        return snap
    }

    /// Downloads every file of the repo at `revision` matching `include` (all when nil) and no `exclude`
    /// (fnmatch globs as `allow_patterns`/`ignore_patterns`), in parallel, and returns `snapshots/<commit>`.
    public func snapshotDownload(repo: String, type: RepoType = .model, revision: String = "main",
                                 include: [String]? = nil, exclude: [String]? = nil) throws(HubError) -> URL {
        if configuration.offline {
            guard let c = cache.commit(for: revision, repo: repo, type: type),
                  FileManager.default.fileExists(atPath: cache.snapshotFolder(repo, type, commit: c).path) else {
                throw .offlineMissing(repo: repo, revision: revision, path: "(snapshot)", offline: true)
            }
            return cache.snapshotFolder(repo, type, commit: c)
        }
        let commit: String
        let files: [RepoFile]
        do throws(HubError) {
            commit = try resolveRevision(repo: repo, type: type, revision: revision)
            files = try listFiles(repo: repo, type: type, revision: commit)
        } catch where error.allowsCacheFallback {
            if let c = cache.commit(for: revision, repo: repo, type: type),
               FileManager.default.fileExists(atPath: cache.snapshotFolder(repo, type, commit: c).path) {
                warn("\(error.description) Using the cached snapshot \(c) of '\(repo)'.")
                return cache.snapshotFolder(repo, type, commit: c)
            }
            throw error
        }
        let paths = FileSelection.filter(files.map(\.path), include: include, exclude: exclude)
        try downloadFiles(repo: repo, type: type, commit: commit, paths: paths)
        return cache.snapshotFolder(repo, type, commit: commit)
    }

    /// The files a fine-tuning run needs: safetensors weights (all shards of the index, or the single file;
    /// `pytorch_model.bin` only when there is no safetensors) plus config/generation-config/tokenizer files.
    public func modelFiles(repo: String, revision: String = "main") throws(HubError) -> [String] {
        let commit = try resolveRevision(repo: repo, type: .model, revision: revision)
        let paths = try listFiles(repo: repo, type: .model, revision: commit).map(\.path)
        let weights: [String]?
        do {
            weights = try FileSelection.weightFiles(in: paths) { index in
                let url = try downloadFile(repo: repo, type: .model, revision: commit, path: index)
                let value = try JSON.parse(bytes: [UInt8](try Data(contentsOf: url)))
                guard let map = value["weight_map"]?.objectValue else {
                    throw HubError.invalidResponse(url: url.path, message: "\(index) has no \"weight_map\" object")
                }
                return try map.values.map { v in
                    guard let s = v.stringValue else { throw HubError.invalidResponse(url: url.path, message: "\(index): weight_map value is not a string") }
                    return s
                }
            }
        } catch let e as HubError { throw e } catch { throw .invalidResponse(url: repo, message: "\(error)") }
        guard let weights else {
            throw .entryNotFound(repo: repo, revision: revision, path: "model.safetensors (or model.safetensors.index.json / pytorch_model.bin)")
        }
        let listed = Set(paths)
        return weights + FileSelection.configAndTokenizerFiles.filter { listed.contains($0) }
    }

    /// Downloads `modelFiles` in parallel and returns the snapshot folder.
    public func downloadModel(repo: String, revision: String = "main") throws(HubError) -> URL {
        // Offline: the cached snapshot of that revision, as from_pretrained uses it (no file listing needed).
        if configuration.offline { return try snapshotDownload(repo: repo, revision: revision) }
        let commit = try resolveRevision(repo: repo, type: .model, revision: revision)
        try downloadFiles(repo: repo, type: .model, commit: commit, paths: try modelFiles(repo: repo, revision: commit))
        return cache.snapshotFolder(repo, .model, commit: commit)
    }

    /// Up to `maxParallelDownloads` files at once; the first error (in path order) is thrown after all finish.
    func downloadFiles(repo: String, type: RepoType, commit: String, paths: [String]) throws(HubError) {
        let errors = ErrorBox()
        let gate = DispatchSemaphore(value: configuration.maxParallelDownloads)
        let group = DispatchGroup()
        for (i, p) in paths.enumerated() {
            gate.wait()
            group.enter()
            DispatchQueue.global().async {
                defer { gate.signal(); group.leave() }
                do throws(HubError) { _ = try self.downloadFile(repo: repo, type: type, revision: commit, path: p) } catch { errors.add(i, error) }
            }
        }
        group.wait()
        if let e = errors.first { throw e }
    }

    /// Holds `flock(LOCK_EX)` on `lockFile` around `body`. The kernel drops the lock when its holder dies, so a
    /// killed process never wedges the cache. A live holder is waited for as huggingface_hub's `WeakFileLock`
    /// does: a message every `lockLogInterval` seconds, and `lockTimeout` (when set) ends the wait with an error
    /// naming the lock file.
    func withLock(_ lockFile: URL, _ body: () throws(HubError) -> Void) throws(HubError) {
        try? FileManager.default.createDirectory(at: lockFile.deletingLastPathComponent(), withIntermediateDirectories: true)
        let fd = open(lockFile.path, O_RDWR | O_CREAT | O_CLOEXEC, 0o664)
        guard fd >= 0 else { throw .fileSystem(path: lockFile.path, message: String(cString: strerror(errno))) }
        defer { close(fd) }
        let start = Date()
        var nextLog = configuration.lockLogInterval
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let elapsed = Date().timeIntervalSince(start)
            if let limit = configuration.lockTimeout, elapsed >= limit { throw .lockTimeout(lockFile: lockFile.path, waited: elapsed) }
            if elapsed >= nextLog {
                warn("Still waiting to acquire lock on \(lockFile.path) (elapsed: \(String(format: "%.1f", elapsed)) seconds)")
                nextLog += configuration.lockLogInterval
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        defer { flock(fd, LOCK_UN) }
        try body()
    }
}

/// First error by index, shared between download threads.
final class ErrorBox: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [(Int, HubError)] = []
    func add(_ i: Int, _ e: HubError) { lock.lock(); errors.append((i, e)); lock.unlock() }
    var first: HubError? { lock.lock(); defer { lock.unlock() }; return errors.min { $0.0 < $1.0 }?.1 }
}
