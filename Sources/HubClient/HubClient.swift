import Foundation
import Values

/// A Hugging Face Hub client that behaves like huggingface_hub's `hf_hub_download`/`snapshot_download`: same
/// URLs, headers, cache layout and fallbacks, plus sha256 verification of LFS files and cross-run resume.
/// All calls block; `snapshotDownload` uses threads for parallel files.
public final class HubClient: Sendable {
    public let configuration: HubConfiguration
    public let cache: HubCache
    let progress: any DownloadProgressReporter
    let warn: @Sendable (String) -> Void
    let symlinkWarning = OnceFlag()

    /// - Parameters:
    ///   - progress: receives per-file progress (the CLI passes a `StandardProgressReporter`).
    ///   - warningHandler: gets warnings such as "using the cached copy"; default writes to stderr.
    public init(configuration: HubConfiguration, progress: any DownloadProgressReporter = SilentProgressReporter(),
                warningHandler: (@Sendable (String) -> Void)? = nil) {
        self.configuration = configuration
        self.cache = HubCache(root: configuration.cacheDirectory)
        self.progress = progress
        self.warn = warningHandler ?? { FileHandle.standardError.write(Data(("warning: " + $0 + "\n").utf8)) }
    }

    // MARK: URLs

    /// `{endpoint}/{prefix}{repo}/resolve/{quote(revision, safe="")}/{quote(path)}` (huggingface_hub `hf_hub_url`).
    public func fileURL(repo: String, type: RepoType = .model, revision: String = "main", path: String) -> String {
        "\(configuration.endpoint)/\(type.urlPrefix)\(repo)/resolve/\(RepoPath.quote(revision, safe: ""))/\(RepoPath.quote(path))"
    }

    func apiURL(repo: String, type: RepoType, _ kind: String, revision: String) -> String {
        "\(configuration.endpoint)/api/\(type.plural)/\(repo)/\(kind)/\(RepoPath.quote(revision, safe: ""))"
    }

    /// Scheme://host:port of a URL, to decide whether the token may be sent there.
    static func origin(_ url: String) -> String {
        guard let c = URLComponents(string: url) else { return "" }
        return "\(c.scheme ?? "")://\(c.host ?? "")\(c.port.map { ":\($0)" } ?? "")"
    }

    /// Headers for a request to `url`: the bearer token only when `url` is on the Hub's own host.
    func headers(for url: String, extra: [String] = []) -> [String] {
        var h = ["User-Agent: \(configuration.userAgent)"] + extra
        if let t = configuration.token, Self.origin(url) == Self.origin(configuration.endpoint) { h.append("Authorization: Bearer \(t)") }
        return h
    }

    // MARK: Revisions and listings

    /// The 40-hex commit a branch/tag/commit names (`/api/{type}s/{repo}/revision/{rev}`), cached in `refs/`.
    /// Offline, or when the Hub cannot be reached, the cached ref is used (with a warning when online).
    public func resolveRevision(repo: String, type: RepoType = .model, revision: String = "main") throws(HubError) -> String {
        if configuration.offline {
            guard let c = cache.commit(for: revision, repo: repo, type: type) else {
                throw .offlineMissing(repo: repo, revision: revision, path: "refs/\(revision)", offline: true)
            }
            return c
        }
        let url = apiURL(repo: repo, type: type, "revision", revision: revision)
        do throws(HubError) {
            let (_, body) = try getJSON(url, repo: repo, revision: revision)
            guard let sha = body["sha"]?.stringValue, sha.isCommitHash else {
                throw HubError.invalidResponse(url: url, message: "no 40-hex \"sha\" in the revision info")
            }
            try cache.writeRef(repo, type, revision: revision, commit: sha)
            return sha
        } catch where error.allowsCacheFallback {
            if let c = cache.commit(for: revision, repo: repo, type: type) {
                warn("\(error.description) Using the cached revision \(c) of '\(repo)'.")
                return c
            }
            throw error
        }
    }

    /// Every file of the repo at `revision` (tree API, recursive, following `Link: rel="next"` pages).
    /// File names are validated; a listing with `..` or absolute names is refused.
    public func listFiles(repo: String, type: RepoType = .model, revision: String = "main") throws(HubError) -> [RepoFile] {
        if configuration.offline { throw .offlineMissing(repo: repo, revision: revision, path: "(file listing)", offline: true) }
        var next: String? = apiURL(repo: repo, type: type, "tree", revision: revision) + "?recursive=true"
        var files: [RepoFile] = []
        var pages = 0
        while let url = next {
            pages += 1
            if pages > 10_000 { throw .invalidResponse(url: url, message: "more than 10000 listing pages") }
            let (resp, body) = try getJSON(url, repo: repo, revision: revision)
            guard let entries = body.arrayValue else { throw .invalidResponse(url: url, message: "tree listing is not a JSON array") }
            for e in entries where e["type"]?.stringValue == "file" {
                guard let path = e["path"]?.stringValue else { throw .invalidResponse(url: url, message: "tree entry without path") }
                try RepoPath.validate(path)
                files.append(RepoFile(path: path, size: e["size"]?.intValue ?? 0, blobID: e["oid"]?.stringValue ?? "",
                                      lfsSHA256: e["lfs"]?["oid"]?.stringValue))
            }
            next = resp.header("link").flatMap(Self.nextLink)
        }
        return files
    }

    /// The URL of `rel="next"` in a `Link` header.
    static func nextLink(_ header: String) -> String? {
        for part in header.split(separator: ",") {
            let p = part.trimmingCharacters(in: .whitespaces)
            guard p.contains("rel=\"next\""), let lt = p.firstIndex(of: "<"), let gt = p.firstIndex(of: ">") else { continue }
            return String(p[p.index(after: lt)..<gt])
        }
        return nil
    }

    func getJSON(_ url: String, repo: String, revision: String) throws(HubError) -> (HTTPResponse, Value) {
        var bytes: [UInt8] = []
        let req = CurlRequest(method: "GET", url: url, headers: headers(for: url, extra: ["Accept: application/json"]),
                              followRedirects: true, totalTimeout: max(configuration.etagTimeout, 30), acceptCompressed: true)
        let resp = try send(req, retries: configuration.maxRetries, reset: { bytes = [] }) { _, chunk in bytes.append(contentsOf: chunk) }
        try raiseForStatus(resp, url: url, repo: repo, revision: revision, path: nil)
        do { return (resp, try JSON.parse(bytes: bytes)) } catch {
            throw .invalidResponse(url: url, message: "invalid JSON (\(error))")
        }
    }

    // MARK: Requests, retries, errors

    static let retryableStatuses: Set<Int> = [408, 429, 500, 502, 503, 504]

    /// Performs `req`, retrying connection errors, timeouts and 408/429/5xx with exponential backoff
    /// (`backoffBase` doubling up to `backoffMax`, huggingface_hub `http_backoff`), honouring `Retry-After`.
    func send(_ req: CurlRequest, retries: Int, reset: () -> Void = {},
              body: ((Int, UnsafeRawBufferPointer) throws -> Void)? = nil) throws(HubError) -> HTTPResponse {
        var attempt = 0
        while true {
            reset()
            var wait = min(configuration.backoffBase * pow(2, Double(attempt)), configuration.backoffMax)
            do {
                let resp = try req.perform(body: body)
                guard Self.retryableStatuses.contains(resp.status) else { return resp }
                if attempt >= retries { return resp }
                if let ra = resp.header("retry-after").flatMap(Double.init) {
                    if ra > configuration.maxRetryAfter { return resp }
                    wait = ra
                }
            } catch {
                switch error {
                case .sink(let e): throw (e as? HubError) ?? .fileSystem(path: req.url, message: "\(e)")
                case .connection(let m), .timeout(let m):
                    if attempt >= retries { throw .network(url: req.url, message: m) }
                }
            }
            attempt += 1
            Thread.sleep(forTimeInterval: wait)
        }
    }

    /// Maps an error status to a `HubError` from `X-Error-Code` (huggingface_hub `hf_raise_for_status`).
    func raiseForStatus(_ r: HTTPResponse, url: String, repo: String, revision: String, path: String?) throws(HubError) {
        guard r.status >= 400 else { return }
        let message = r.header("x-error-message") ?? ""
        switch r.header("x-error-code") {
        case "RepoNotFound": throw .repositoryNotFound(repo: repo, url: url)
        case "GatedRepo": throw .gatedRepository(repo: repo, url: url, status: r.status)
        case "RevisionNotFound": throw .revisionNotFound(repo: repo, revision: revision, url: url)
        case "EntryNotFound": throw .entryNotFound(repo: repo, revision: revision, path: path ?? url)
        default: break
        }
        switch r.status {
        case 401:
            if message == "Invalid credentials in Authorization header" { throw .unauthorized(repo: repo, url: url, status: 401, serverMessage: message) }
            throw .repositoryNotFound(repo: repo, url: url)
        case 403: throw .unauthorized(repo: repo, url: url, status: 403, serverMessage: message)
        case 404: if let path { throw .entryNotFound(repo: repo, revision: revision, path: path) }
            throw .repositoryNotFound(repo: repo, url: url)
        case 429: throw .rateLimited(url: url, retryAfter: r.header("retry-after").flatMap(Double.init))
        default: throw .httpStatus(url: url, status: r.status, serverMessage: message)
        }
    }
}
