/// Everything the Hub client can fail with. Each message names the repo/file/path involved and ends with what to do.
/// The token is never part of any message.
public enum HubError: Error, CustomStringConvertible, Equatable {
    case repositoryNotFound(repo: String, url: String)
    case gatedRepository(repo: String, url: String, status: Int)
    case unauthorized(repo: String, url: String, status: Int, serverMessage: String)
    case revisionNotFound(repo: String, revision: String, url: String)
    case entryNotFound(repo: String, revision: String, path: String)
    case rateLimited(url: String, retryAfter: Double?)
    case httpStatus(url: String, status: Int, serverMessage: String)
    case network(url: String, message: String)
    case metadataMissing(url: String, header: String)
    case invalidFileName(String, reason: String)
    case offlineMissing(repo: String, revision: String, path: String, offline: Bool)
    case sizeMismatch(path: String, expected: Int, actual: Int)
    case checksumMismatch(path: String, expected: String, actual: String)
    case diskFull(path: String, bytesNeeded: Int)
    case fileSystem(path: String, message: String)
    case invalidResponse(url: String, message: String)
    /// The CDN (another host) refused a signed URL, typically because it expired; a fresh HEAD gives a new one.
    case cdnRejected(url: String, status: Int)
    /// A git-stored (non-LFS) file whose bytes do not hash to the git blob sha1 the Hub gave as its ETag.
    case blobHashMismatch(path: String, expected: String, actual: String)
    /// Another live process held a blob's lock for longer than `lockTimeout`.
    case lockTimeout(lockFile: String, waited: Double)
    /// A Hub dataset has no such split; `available` are the splits its files or configs define.
    case splitNotFound(repo: String, split: String, config: String?, available: [String])
    /// A Hub dataset has several configs and none (or a missing one) was chosen.
    case configNotFound(repo: String, config: String?, available: [String])
    /// No data files for a Hub dataset split: neither the README configs, the default patterns nor the Parquet conversion matched.
    case noDataFiles(repo: String, revision: String, split: String, tried: [String])

    public var description: String {
        switch self {
        case let .repositoryNotFound(repo, url):
            return "Repository Not Found: '\(repo)' (\(url)). Check the repo id and repo type (model/dataset); if it is private or gated, set HF_TOKEN to a token with access."
        case let .gatedRepository(repo, url, status):
            return "Cannot access gated repo '\(repo)' (HTTP \(status), \(url)). Accept the licence on the Hub page https://huggingface.co/\(repo) and set HF_TOKEN (or log in) with a token of that account."
        case let .unauthorized(repo, url, status, msg):
            return "Access denied to '\(repo)' (HTTP \(status), \(url))\(msg.isEmpty ? "" : ": \(msg)"). If the repo is private or gated, accept its licence on the Hub and set HF_TOKEN to a token with read access."
        case let .revisionNotFound(repo, rev, url):
            return "Revision Not Found: '\(rev)' of '\(repo)' (\(url)). Use an existing branch, tag or 40-hex commit (default: main)."
        case let .entryNotFound(repo, rev, path):
            return "Entry Not Found: '\(path)' in '\(repo)' at revision '\(rev)'. Check the file name with a listing of the repo, or choose another revision."
        case let .rateLimited(url, after):
            return "429 Too Many Requests for \(url)\(after.map { ": retry after \(Int($0)) seconds" } ?? ""). Wait and retry, or set HF_TOKEN (authenticated users get higher limits)."
        case let .httpStatus(url, status, msg):
            return "HTTP \(status) for \(url)\(msg.isEmpty ? "" : ": \(msg)"). Retry later; if it persists check HF_ENDPOINT and the Hub status page."
        case let .network(url, msg):
            return "Cannot reach \(url): \(msg). Check the network/proxy, or set HF_HUB_OFFLINE=1 to use only the local cache."
        case let .metadataMissing(url, header):
            return "The response for \(url) has no \(header) header, so it does not look like a Hugging Face Hub. Check HF_ENDPOINT."
        case let .invalidFileName(name, reason):
            return "Refusing repo file name '\(name.replacingOccurrences(of: "\0", with: "\\0"))': \(reason). The repo (or its index) is malformed or malicious; use another revision or repo."
        case let .offlineMissing(repo, rev, path, offline):
            return "'\(path)' of '\(repo)' at revision '\(rev)' is not in the local cache\(offline ? " and offline mode is enabled" : " and the Hub could not be reached"). " + (offline ? "Unset HF_HUB_OFFLINE (or the offline option) to download it." : "Connect to the network and retry.")
        case let .sizeMismatch(path, expected, actual):
            return "Consistency check failed: \(path) should be \(expected) bytes but has \(actual). This is usually a network issue; retry the download."
        case let .checksumMismatch(path, expected, actual):
            return "sha256 mismatch for \(path): expected \(expected), got \(actual). The download was corrupted and was discarded; retry the download."
        case let .diskFull(path, needed):
            return "No space left on device writing \(path): \(needed) more bytes are needed. Free disk space or point HF_HUB_CACHE at a bigger disk."
        case let .fileSystem(path, msg):
            return "File system error at \(path): \(msg). Check permissions and free space of the cache folder (HF_HUB_CACHE)."
        case let .cdnRejected(url, status):
            return "The download host refused \(url) (HTTP \(status)); its signed URL probably expired. Retry the download (a fresh URL is requested automatically once)."
        case let .blobHashMismatch(path, expected, actual):
            return "git blob sha1 mismatch for \(path): expected \(expected), got \(actual). The download was corrupted and was discarded; retry the download."
        case let .lockTimeout(lockFile, waited):
            return "Gave up after \(Int(waited)) seconds waiting for the lock \(lockFile), held by another process downloading the same file. Wait for it to finish, or raise SFTRUN_HUB_LOCK_TIMEOUT; if no such process runs, delete the lock file."
        case let .splitNotFound(repo, split, config, available):
            return "Split '\(split)' not found in dataset '\(repo)'\(config.map { " (config '\($0)')" } ?? ""); it has: \(available.isEmpty ? "(none)" : available.joined(separator: ", ")). Set data.train.split (or data.eval.split) to one of them."
        case let .configNotFound(repo, config, available):
            return (config.map { "Config '\($0)' not found in dataset '\(repo)'" } ?? "Dataset '\(repo)' has several configs and none is the default")
                + "; it has: \(available.joined(separator: ", ")). Set data.train.name (or data.eval.name) to one of them."
        case let .noDataFiles(repo, revision, split, tried):
            return "No data files for split '\(split)' of dataset '\(repo)' at revision '\(revision)'. Tried: \(tried.joined(separator: "; ")). Set data.train.data_files to the files' patterns, or check the repo id."
        case let .invalidResponse(url, msg):
            return "Unexpected response from \(url): \(msg). Check HF_ENDPOINT points at a Hugging Face Hub."
        }
    }

    /// True for failures where a cached copy may be used instead (network trouble, server errors) — never for
    /// not-found, gated or auth errors, which a cache must not mask (huggingface_hub `_raise_on_head_call_error`).
    var allowsCacheFallback: Bool {
        switch self {
        case .network, .rateLimited: return true
        case let .httpStatus(_, status, _): return status >= 500 || status == 408
        default: return false
        }
    }
}
