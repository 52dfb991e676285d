import CCurl
import Foundation
import Synchronization

/// Incremental sha256 over the C implementation in the CCurl shim.
struct SHA256 {
    private var ctx = sftrun_sha256_ctx()
    init() { sftrun_sha256_init(&ctx) }
    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        if let base = bytes.baseAddress { sftrun_sha256_update(&ctx, base, bytes.count) }
    }
    mutating func hexDigest() -> String {
        var out = [UInt8](repeating: 0, count: 32)
        sftrun_sha256_final(&ctx, &out)
        return out.map { String($0, radix: 16).leftPadded(2) }.joined()
    }
    static func hex(_ bytes: [UInt8]) -> String {
        var h = SHA256(); bytes.withUnsafeBytes { h.update($0) }; return h.hexDigest()
    }
}

/// The open `blobs/<etag>.incomplete` file being filled, with the running hash of what it holds.
final class PartialFile {
    let fd: Int32
    let path: String
    let expected: Int
    var written = 0
    var hash = SHA256()
    /// The git blob sha1 of what was written, kept only for git-stored files (40-hex etag).
    var blobHash: GitBlobHasher?
    private let tracksBlobHash: Bool
    init(fd: Int32, path: String, expected: Int, tracksBlobHash: Bool = false) {
        self.fd = fd; self.path = path; self.expected = expected; self.tracksBlobHash = tracksBlobHash
        blobHash = tracksBlobHash ? GitBlobHasher(size: expected) : nil
    }

    func truncate() throws(HubError) {
        guard ftruncate(fd, 0) == 0, lseek(fd, 0, SEEK_SET) == 0 else { throw .fileSystem(path: path, message: String(cString: strerror(errno))) }
        written = 0; hash = SHA256(); blobHash = tracksBlobHash ? GitBlobHasher(size: expected) : nil
    }

    func append(_ bytes: UnsafeRawBufferPointer) throws(HubError) {
        var off = 0
        while off < bytes.count {
            let n = write(fd, bytes.baseAddress! + off, bytes.count - off)
            if n < 0 {
                if errno == EINTR { continue }
                if errno == ENOSPC || errno == EDQUOT { throw .diskFull(path: path, bytesNeeded: max(expected - written - off, bytes.count - off)) }
                throw .fileSystem(path: path, message: String(cString: strerror(errno)))
            }
            off += n
        }
        hash.update(bytes)
        blobHash?.update(bytes)
        written += bytes.count
    }

    /// Re-hashes bytes already on disk from an earlier run so the final sha256 covers the whole file.
    func hashExisting() throws(HubError) {
        var buf = [UInt8](repeating: 0, count: 1 << 20)
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw .fileSystem(path: path, message: String(cString: strerror(errno))) }
        var total = 0
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 { throw .fileSystem(path: path, message: String(cString: strerror(errno))) }
            if n == 0 { break }
            buf.withUnsafeBytes {
                hash.update(UnsafeRawBufferPointer(rebasing: $0[0..<n]))
                blobHash?.update(UnsafeRawBufferPointer(rebasing: $0[0..<n]))
            }
            total += n
        }
        written = total
    }
}

extension HubClient {
    /// Streams the file to `blobs/<etag>.incomplete`, resuming with `Range` after interruptions (also across
    /// runs; the caller holds the blob's flock), checks size and the etag — sha256 for LFS files, the git blob
    /// sha1 for git-stored ones — fsyncs and renames into place. On failure nothing but the partial file is left, and never under `snapshots/`.
    func downloadBlob(_ meta: FileMetadata, to blob: URL, displayName: String) throws(HubError) {
        let dir = blob.deletingLastPathComponent()
        do { try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true) }
        catch { throw .fileSystem(path: dir.path, message: "\(error)") }
        let tmpPath = blob.path + ".incomplete"
        try checkFreeSpace(dir.path, needed: meta.size, target: tmpPath)
        var checksumFailures = 0
        while true {
            let fd = open(tmpPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw .fileSystem(path: tmpPath, message: String(cString: strerror(errno))) }
            let file = PartialFile(fd: fd, path: tmpPath, expected: meta.size, tracksBlobHash: meta.etag.isGitBlobID && configuration.verifyChecksums)
            do throws(HubError) {
                try file.hashExisting()
                if file.written > meta.size { try file.truncate() }
                try fill(file, meta: meta, displayName: displayName)
                if file.written != meta.size { throw HubError.sizeMismatch(path: displayName, expected: meta.size, actual: file.written) }
                if meta.etag.isSHA256 && configuration.verifyChecksums {
                    let actual = file.hash.hexDigest()
                    if actual != meta.etag { throw HubError.checksumMismatch(path: displayName, expected: meta.etag, actual: actual) }
                }
                if var blobHash = file.blobHash {
                    let actual = blobHash.hexDigest()
                    if actual != meta.etag { throw HubError.blobHashMismatch(path: displayName, expected: meta.etag, actual: actual) }
                }
                guard fsync(fd) == 0 else { throw HubError.fileSystem(path: tmpPath, message: String(cString: strerror(errno))) }
                close(fd)
                guard rename(tmpPath, blob.path) == 0 else { throw HubError.fileSystem(path: blob.path, message: String(cString: strerror(errno))) }
                let dfd = open(dir.path, O_RDONLY | O_DIRECTORY)
                if dfd >= 0 { fsync(dfd); close(dfd) }
                return
            } catch {
                close(fd)
                switch error {
                case .checksumMismatch, .blobHashMismatch, .sizeMismatch:
                    unlink(tmpPath)
                    checksumFailures += 1
                    if checksumFailures >= 2 { throw error }
                case .diskFull:
                    unlink(tmpPath)
                    throw error
                default:
                    throw error
                }
            }
        }
    }

    /// GETs the missing bytes into `file`, resuming with `Range: bytes=N-` after connection drops (the retry
    /// counter resets whenever bytes arrived, as huggingface_hub `http_get`); a 200 to a Range request
    /// truncates and restarts; a 416 discards the partial once.
    private func fill(_ file: PartialFile, meta: FileMetadata, displayName: String) throws(HubError) {
        let url = meta.location
        var failures = 0
        var restartedAfter416 = false
        progress.fileStarted(displayName, totalBytes: meta.size, alreadyHave: file.written)
        while true {
            if meta.size > 0 && file.written >= meta.size { return }
            let start = file.written
            var extra = [String]()
            if start > 0 { extra.append("Range: bytes=\(start)-") }
            let req = CurlRequest(method: "GET", url: url, headers: headers(for: url, extra: extra), followRedirects: true,
                                  stallTimeout: configuration.downloadTimeout, acceptCompressed: start == 0)
            var truncatedForFullBody = false
            let outcome: Result<HTTPResponse, TransportFailure>
            do {
                outcome = .success(try req.perform { status, chunk in
                    guard status == 200 || status == 206 else { return }
                    if status == 200 && start > 0 && !truncatedForFullBody {
                        try file.truncate(); truncatedForFullBody = true
                    }
                    try file.append(chunk)
                    self.progress.fileProgressed(displayName, bytesDone: file.written, totalBytes: meta.size)
                })
            } catch { outcome = .failure(error) }
            let received = file.written != start || truncatedForFullBody
            switch outcome {
            case .failure(.sink(let e)):
                throw (e as? HubError) ?? .fileSystem(path: file.path, message: "\(e)")
            case .failure(.connection(let m)), .failure(.timeout(let m)):
                failures = received ? 1 : failures + 1
                if failures > configuration.maxRetries { throw .network(url: Self.redacted(url), message: m) }
                Thread.sleep(forTimeInterval: min(configuration.backoffBase * pow(2, Double(failures - 1)), configuration.backoffMax))
            case .success(let r):
                // A complete response: done, or a clean close before the declared size (the caller's size
                // check reports it and retries once from scratch).
                if r.status == 200 || r.status == 206 { return }
                if r.status == 416 && !restartedAfter416 {
                    restartedAfter416 = true
                    try file.truncate()
                    continue
                }
                if Self.retryableStatuses.contains(r.status) && failures < configuration.maxRetries {
                    failures += 1
                    var wait = min(configuration.backoffBase * pow(2, Double(failures - 1)), configuration.backoffMax)
                    if let ra = r.header("retry-after").flatMap(Double.init), ra <= configuration.maxRetryAfter { wait = ra }
                    Thread.sleep(forTimeInterval: wait)
                    continue
                }
                if (r.status == 403 || r.status == 400) && Self.origin(url) != Self.origin(configuration.endpoint) {
                    throw .cdnRejected(url: Self.redacted(url), status: r.status)
                }
                try raiseForStatus(r, url: Self.redacted(url), repo: displayName, revision: meta.commit, path: displayName)
                throw .httpStatus(url: Self.redacted(url), status: r.status, serverMessage: "")
            }
        }
    }

    /// A URL without its query (signed CDN URLs carry credentials in it).
    static func redacted(_ url: String) -> String { url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url }

    /// Fails before downloading when the disk cannot hold the file (huggingface_hub only warns; D12).
    func checkFreeSpace(_ dir: String, needed: Int, target: String) throws(HubError) {
        var st = statvfs()
        guard statvfs(dir, &st) == 0 else { return }
        let free = Int(st.f_bavail) &* Int(st.f_frsize)
        var have = stat()
        let already = stat(target, &have) == 0 ? Int(have.st_size) : 0
        if free < needed - already { throw .diskFull(path: target, bytesNeeded: needed - already - free) }
    }
}

/// sha256 of files, for checkpoint manifests and recipe.lock.yaml.
public enum FileDigest {
    /// Hex sha256 of a file's bytes, read in 1 MiB pieces.
    public static func sha256(of url: URL) throws -> String {
        try hash(url)
    }

    /// The same, remembered for this process while the file's size, mtime and inode stay the same: recipe.lock.yaml
    /// and the data-cache fingerprint hash the same data and tokenizer files in one run. Not for integrity checks.
    public static func sha256(ofUnchanged url: URL) throws -> String {
        var st = stat()
        guard stat(url.path, &st) == 0 else { return try hash(url) }
        let key = "\(url.standardizedFileURL.path)\u{0}\(st.st_size)\u{0}\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)\u{0}\(st.st_ino)"
        if let known = remembered.withLock({ $0[key] }) { return known }
        let digest = try hash(url)
        remembered.withLock { $0[key] = digest }
        return digest
    }

    private static let remembered = Mutex<[String: String]>([:])

    static func hash(_ url: URL) throws -> String {
        guard let h = FileHandle(forReadingAtPath: url.path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: url.path])
        }
        defer { try? h.close() }
        var digest = SHA256()
        while let chunk = try h.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { digest.update($0) }
        }
        return digest.hexDigest()
    }

    /// Hex sha256 of bytes in memory.
    public static func sha256(_ bytes: [UInt8]) -> String { SHA256.hex(bytes) }
}
