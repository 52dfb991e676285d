import Foundation

/// The huggingface_hub cache layout (`manage-cache.md`): `{type}s--org--name/{blobs,snapshots,refs,.no_exist}`
/// and `.locks/{type}s--org--name/<etag>.lock`. A cache written here is readable by Python and vice versa.
public struct HubCache: Sendable {
    /// Cache root (`HF_HUB_CACHE`).
    public var root: URL

    public init(root: URL) { self.root = root }

    /// A repo found in the cache, as `hf cache scan` reports it.
    public struct CachedRepo: Sendable, Equatable {
        public var type: RepoType
        public var repo: String
        public var path: URL
        /// Bytes of the blobs (each blob counted once).
        public var sizeOnDisk: Int
        public var fileCount: Int
        /// Commit → refs pointing at it.
        public var revisions: [String: [String]]
    }

    func repoFolder(_ repo: String, _ type: RepoType) -> URL { root.appendingPathComponent(type.cacheFolderName(repo)) }
    func blobPath(_ repo: String, _ type: RepoType, etag: String) -> URL {
        repoFolder(repo, type).appendingPathComponent("blobs").appendingPathComponent(etag)
    }
    func snapshotFolder(_ repo: String, _ type: RepoType, commit: String) -> URL {
        repoFolder(repo, type).appendingPathComponent("snapshots").appendingPathComponent(commit)
    }
    func snapshotPath(_ repo: String, _ type: RepoType, commit: String, path: String) -> URL {
        snapshotFolder(repo, type, commit: commit).appendingPathComponent(path)
    }
    func noExistPath(_ repo: String, _ type: RepoType, commit: String, path: String) -> URL {
        repoFolder(repo, type).appendingPathComponent(".no_exist").appendingPathComponent(commit).appendingPathComponent(path)
    }
    func lockPath(_ repo: String, _ type: RepoType, etag: String) -> URL {
        root.appendingPathComponent(".locks").appendingPathComponent(type.cacheFolderName(repo)).appendingPathComponent(etag + ".lock")
    }
    func refPath(_ repo: String, _ type: RepoType, revision: String) -> URL {
        repoFolder(repo, type).appendingPathComponent("refs").appendingPathComponent(revision)
    }

    /// The commit a ref points at, or the revision itself when it is already a commit.
    public func commit(for revision: String, repo: String, type: RepoType) -> String? {
        if revision.isCommitHash, FileManager.default.fileExists(atPath: snapshotFolder(repo, type, commit: revision).path) { return revision }
        guard let text = try? String(contentsOf: refPath(repo, type, revision: revision), encoding: .utf8) else {
            return revision.isCommitHash ? revision : nil
        }
        let c = text.trimmingCharacters(in: .whitespacesAndNewlines)
        return c.isCommitHash ? c : nil
    }

    /// `refs/<revision>` ← commit, written via a temp file and rename, only when it changes (huggingface_hub `_cache_commit_hash_for_specific_revision`).
    func writeRef(_ repo: String, _ type: RepoType, revision: String, commit: String) throws(HubError) {
        guard revision != commit else { return }
        let p = refPath(repo, type, revision: revision)
        if let old = try? String(contentsOf: p, encoding: .utf8), old == commit { return }
        do {
            try FileManager.default.createDirectory(at: p.deletingLastPathComponent(), withIntermediateDirectories: true)
            let tmp = p.deletingLastPathComponent().appendingPathComponent(".\(p.lastPathComponent).\(getpid()).\(UInt64.random(in: 0...UInt64.max)).tmp")
            try Data(commit.utf8).write(to: tmp)
            guard rename(tmp.path, p.path) == 0 else { throw HubError.fileSystem(path: p.path, message: String(cString: strerror(errno))) }
        } catch let e as HubError { throw e } catch { throw .fileSystem(path: p.path, message: "\(error)") }
    }

    /// Writes `CACHEDIR.TAG` (Cache Directory Tagging Standard) once so backup tools skip the cache, with
    /// huggingface_hub's exact text (`_local_folder.py` `CACHEDIR_TAG_CONTENT`).
    func createCachedirTag() {
        let tag = root.appendingPathComponent("CACHEDIR.TAG")
        guard !FileManager.default.fileExists(atPath: tag.path) else { return }
        let text = "Signature: 8a477f597d28d172789f06886806bc55\n# This file is a cache directory tag created by huggingface_hub.\n# For information about cache directory tags, see:\n#\thttps://bford.info/cachedir/\n"
        try? FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try? Data(text.utf8).write(to: tag, options: .atomic)
    }

    /// Lists every cached repo with blob sizes and refs (`hf cache scan`).
    public func scan() throws -> [CachedRepo] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: root.path) else { return [] }
        var out: [CachedRepo] = []
        for name in names.sorted() {
            let parts = name.components(separatedBy: "--")
            guard parts.count >= 2, let type = RepoType.allCases.first(where: { $0.plural == parts[0] }) else { continue }
            let folder = root.appendingPathComponent(name)
            var size = 0, count = 0
            let blobs = folder.appendingPathComponent("blobs")
            for b in (try? fm.contentsOfDirectory(atPath: blobs.path)) ?? [] where !b.hasSuffix(".incomplete") {
                var st = stat()
                if lstat(blobs.appendingPathComponent(b).path, &st) == 0 { size += Int(st.st_size); count += 1 }
            }
            var revisions: [String: [String]] = [:]
            for c in (try? fm.contentsOfDirectory(atPath: folder.appendingPathComponent("snapshots").path)) ?? [] { revisions[c] = [] }
            if let e = fm.enumerator(atPath: folder.appendingPathComponent("refs").path) {
                while let ref = e.nextObject() as? String {
                    let p = folder.appendingPathComponent("refs").appendingPathComponent(ref)
                    var isDir: ObjCBool = false
                    guard fm.fileExists(atPath: p.path, isDirectory: &isDir), !isDir.boolValue,
                          let c = try? String(contentsOf: p, encoding: .utf8) else { continue }
                    revisions[c.trimmingCharacters(in: .whitespacesAndNewlines), default: []].append(ref)
                }
            }
            out.append(CachedRepo(type: type, repo: parts.dropFirst().joined(separator: "/"), path: folder,
                                  sizeOnDisk: size, fileCount: count, revisions: revisions))
        }
        return out
    }

    /// Deletes a repo's cache folder and its lock folder. Returns false when it was not cached.
    @discardableResult
    public func remove(repo: String, type: RepoType = .model) throws -> Bool {
        let folder = repoFolder(repo, type)
        guard FileManager.default.fileExists(atPath: folder.path) else { return false }
        try FileManager.default.removeItem(at: folder)
        try? FileManager.default.removeItem(at: root.appendingPathComponent(".locks").appendingPathComponent(type.cacheFolderName(repo)))
        return true
    }
}
