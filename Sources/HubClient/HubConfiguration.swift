import Foundation

/// Settings of a `HubClient`, with huggingface_hub's environment variable names and defaults (`constants.py`).
public struct HubConfiguration: Sendable {
    /// Hub base URL without trailing slash (`HF_ENDPOINT`, default https://huggingface.co).
    public var endpoint: String
    /// Cache root (`HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`).
    public var cacheDirectory: URL
    /// Bearer token sent to the Hub host only (`HF_TOKEN`, else the file `HF_HOME/token`). Never printed.
    public var token: String?
    /// Cache only, no sockets (`HF_HUB_OFFLINE=1`).
    public var offline: Bool
    /// Read timeout of downloads in seconds: abort when no byte arrives for this long (`HF_HUB_DOWNLOAD_TIMEOUT`, 10).
    public var downloadTimeout: Double
    /// Total timeout of metadata (HEAD/API) requests in seconds (`HF_HUB_ETAG_TIMEOUT`, 10).
    public var etagTimeout: Double
    /// Attempts after the first one for retryable failures (huggingface_hub: 5).
    public var maxRetries: Int
    /// First backoff wait in seconds, doubled per retry (huggingface_hub: 1); tests set it small.
    public var backoffBase: Double
    /// Cap of one backoff wait in seconds (huggingface_hub: 8). `Retry-After` is honoured up to `maxRetryAfter`.
    public var backoffMax: Double
    /// Longest `Retry-After` we agree to sleep; longer ones fail with `rateLimited`.
    public var maxRetryAfter: Double
    /// Files downloaded at the same time by `snapshotDownload` (huggingface_hub `max_workers`: 8).
    public var maxParallelDownloads: Int
    /// Verify sha256 of LFS files (64-hex etag) before committing them to the cache.
    public var verifyChecksums: Bool
    /// Sent as `User-Agent`.
    public var userAgent: String
    /// Put real files, not symlinks, under `snapshots/` (`HF_HUB_DISABLE_SYMLINKS`); also the fallback when the
    /// cache's file system refuses symlinks.
    public var disableSymlinks: Bool
    /// Do not warn when symlinks are unavailable (`HF_HUB_DISABLE_SYMLINKS_WARNING`).
    public var disableSymlinksWarning: Bool
    /// Seconds between "still waiting" messages while another process holds a blob's lock (huggingface_hub
    /// `FILELOCK_LOG_EVERY_SECONDS`, 10).
    public var lockLogInterval: Double
    /// Give up waiting for a blob's lock after this many seconds (`SFTRUN_HUB_LOCK_TIMEOUT`); nil waits for
    /// as long as the holder lives, as huggingface_hub does.
    public var lockTimeout: Double?

    public init(endpoint: String = "https://huggingface.co", cacheDirectory: URL, token: String? = nil,
                offline: Bool = false, downloadTimeout: Double = 10, etagTimeout: Double = 10,
                maxRetries: Int = 5, backoffBase: Double = 1, backoffMax: Double = 8, maxRetryAfter: Double = 120,
                maxParallelDownloads: Int = 8, verifyChecksums: Bool = true, userAgent: String = "sftrun/0.1; hf_hub/compatible",
                disableSymlinks: Bool = false, disableSymlinksWarning: Bool = false, lockLogInterval: Double = 10,
                lockTimeout: Double? = nil) {
        var e = endpoint
        while e.hasSuffix("/") { e.removeLast() }
        self.endpoint = e; self.cacheDirectory = cacheDirectory; self.token = token; self.offline = offline
        self.downloadTimeout = downloadTimeout; self.etagTimeout = etagTimeout; self.maxRetries = maxRetries
        self.backoffBase = backoffBase; self.backoffMax = backoffMax; self.maxRetryAfter = maxRetryAfter
        self.maxParallelDownloads = max(1, maxParallelDownloads); self.verifyChecksums = verifyChecksums
        self.userAgent = userAgent
        self.disableSymlinks = disableSymlinks; self.disableSymlinksWarning = disableSymlinksWarning
        self.lockLogInterval = max(0.05, lockLogInterval); self.lockTimeout = lockTimeout
    }

    /// Reads huggingface_hub's environment variables (legacy names too: `HUGGINGFACE_HUB_CACHE`, `HUGGING_FACE_HUB_TOKEN`).
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) -> HubConfiguration {
        func nonEmpty(_ k: String) -> String? { env[k].flatMap { $0.isEmpty ? nil : $0 } }
        let home = nonEmpty("HOME") ?? NSHomeDirectory()
        let hfHome = nonEmpty("HF_HOME") ?? ((nonEmpty("XDG_CACHE_HOME") ?? home + "/.cache") + "/huggingface")
        let cache = nonEmpty("HF_HUB_CACHE") ?? nonEmpty("HUGGINGFACE_HUB_CACHE") ?? hfHome + "/hub"
        var token = nonEmpty("HF_TOKEN") ?? nonEmpty("HUGGING_FACE_HUB_TOKEN")
        if token == nil {
            let path = nonEmpty("HF_TOKEN_PATH") ?? hfHome + "/token"
            if let text = try? String(contentsOfFile: path, encoding: .utf8) {
                let t = text.trimmingCharacters(in: .whitespacesAndNewlines)
                token = t.isEmpty ? nil : t
            }
        }
        func truthy(_ k: String) -> Bool { ["1", "on", "yes", "true"].contains((env[k] ?? "").lowercased()) }
        return HubConfiguration(
            endpoint: nonEmpty("HF_ENDPOINT") ?? "https://huggingface.co",
            cacheDirectory: URL(fileURLWithPath: cache), token: token,
            offline: truthy("HF_HUB_OFFLINE") || truthy("TRANSFORMERS_OFFLINE"),
            downloadTimeout: nonEmpty("HF_HUB_DOWNLOAD_TIMEOUT").flatMap(Double.init) ?? 10,
            etagTimeout: nonEmpty("HF_HUB_ETAG_TIMEOUT").flatMap(Double.init) ?? 10,
            disableSymlinks: truthy("HF_HUB_DISABLE_SYMLINKS"), disableSymlinksWarning: truthy("HF_HUB_DISABLE_SYMLINKS_WARNING"),
            lockTimeout: nonEmpty("SFTRUN_HUB_LOCK_TIMEOUT").flatMap(Double.init).flatMap { $0 > 0 ? $0 : nil })
    }
}

/// Printing or dumping a configuration never shows the token (D3): it is replaced by `<redacted>`.
extension HubConfiguration: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "HubConfiguration(endpoint: \(endpoint), cacheDirectory: \(cacheDirectory.path), token: \(token == nil ? "nil" : "<redacted>"), offline: \(offline), downloadTimeout: \(downloadTimeout), etagTimeout: \(etagTimeout), maxRetries: \(maxRetries), maxParallelDownloads: \(maxParallelDownloads), disableSymlinks: \(disableSymlinks), lockTimeout: \(lockTimeout.map { "\($0)" } ?? "nil"))"
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["endpoint": endpoint, "cacheDirectory": cacheDirectory.path,
                                "token": token == nil ? "nil" : "<redacted>", "offline": offline,
                                "downloadTimeout": downloadTimeout, "etagTimeout": etagTimeout,
                                "maxRetries": maxRetries, "maxParallelDownloads": maxParallelDownloads])
    }
}
