import Foundation

extension HubClient {
    /// `snapshots/<commit>/<path>` → relative symlink `../../blobs/<etag>` (one more `../` per subfolder). Where
    /// symlinks are off (`disableSymlinks`) or the file system refuses them, the snapshot gets the real file as
    /// huggingface_hub `_create_symlink` does: a blob downloaded just now is moved there, an older one (maybe
    /// shared with other snapshots) is copied; a warning says so once per client.
    func makeSnapshotLink(_ snap: URL, path: String, etag: String, blob: URL, newBlob: Bool) throws(HubError) {
        let depth = path.split(separator: "/").count - 1
        let target = String(repeating: "../", count: depth + 2) + "blobs/" + etag
        do {
            try FileManager.default.createDirectory(at: snap.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch { throw .fileSystem(path: snap.deletingLastPathComponent().path, message: "\(error)") }
        let tmp = snap.path + ".\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        if !configuration.disableSymlinks {
            if Self.createSymlink(target, tmp) == 0 {
                guard rename(tmp, snap.path) == 0 else {
                    let m = String(cString: strerror(errno)); unlink(tmp)
                    throw .fileSystem(path: snap.path, message: m)
                }
                return
            }
            let code = errno
            guard Self.symlinkUnsupportedErrors.contains(code) else { throw .fileSystem(path: snap.path, message: String(cString: strerror(code))) }
            if !configuration.disableSymlinksWarning { symlinkWarning.once { warn(Self.noSymlinksWarning(configuration.cacheDirectory.path)) } }
        }
        try placeRealFile(blob: blob, at: snap, tmp: tmp, move: newBlob)
    }

    /// `symlink(2)`; tests swap in one that fails as FAT or some network mounts do.
    nonisolated(unsafe) static var createSymlink: (String, String) -> Int32 = { symlink($0, $1) }

    /// errno values meaning "this file system cannot hold symlinks" (FAT/exFAT, some network and FUSE mounts).
    static let symlinkUnsupportedErrors: [Int32] = [EPERM, ENOTSUP, EOPNOTSUPP, ENOSYS]

    /// huggingface_hub's wording (`are_symlinks_supported`).
    static func noSymlinksWarning(_ cacheDir: String) -> String {
        "`huggingface_hub` cache-system uses symlinks by default to efficiently store duplicated files but your machine does not support them in \(cacheDir). Caching files will still work but in a degraded version that might require more space on your disk. This warning can be disabled by setting the `HF_HUB_DISABLE_SYMLINKS_WARNING` environment variable. For more details, see https://huggingface.co/docs/huggingface_hub/how-to-cache#limitations."
    }

    /// Moves (new blob) or copies (shared blob) the blob to the snapshot path through a temp name, so a reader
    /// never sees a half-copied file.
    private func placeRealFile(blob: URL, at snap: URL, tmp: String, move: Bool) throws(HubError) {
        if move, rename(blob.path, snap.path) == 0 { return }
        do {
            try FileManager.default.copyItem(atPath: blob.path, toPath: tmp)
        } catch {
            unlink(tmp)
            throw .fileSystem(path: snap.path, message: "cannot copy \(blob.path) there (\(error))")
        }
        guard rename(tmp, snap.path) == 0 else {
            let m = String(cString: strerror(errno)); unlink(tmp)
            throw .fileSystem(path: snap.path, message: m)
        }
    }
}

/// Runs a closure once per owner, from any thread (the no-symlinks warning).
final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    func once(_ body: () -> Void) {
        lock.lock()
        let first = !done
        done = true
        lock.unlock()
        if first { body() }
    }
}
