import Foundation

/// What the HEAD of a resolve URL says about a file (huggingface_hub `HfFileMetadata`).
struct FileMetadata {
    var commit: String
    /// Normalised etag: quotes and `W/` stripped; sha256 for LFS files, git sha1 otherwise.
    var etag: String
    var size: Int
    /// Where to GET the bytes: the CDN `Location` of a redirect, else the (relative-redirect-resolved) URL.
    var location: String
}

extension HubClient {
    static func normalizeETag(_ s: String) -> String {
        var e = s.trimmingCharacters(in: .whitespaces)
        if e.hasPrefix("W/") { e.removeFirst(2) }
        return e.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }

    /// HEAD without following redirects to another host; relative `Location`s (renamed repos,
    /// `/api/resolve-cache/...`) are followed (huggingface_hub `_httpx_follow_relative_redirects`).
    /// `notFoundCommit` receives `X-Repo-Commit` of an EntryNotFound reply so the caller can write `.no_exist`.
    func fileMetadata(repo: String, type: RepoType, revision: String, path: String, retries: Int,
                      notFoundCommit: inout String?) throws(HubError) -> FileMetadata {
        var url = fileURL(repo: repo, type: type, revision: revision, path: path)
        for _ in 0..<10 {
            let req = CurlRequest(method: "HEAD", url: url, headers: headers(for: url, extra: ["Accept-Encoding: identity"]),
                                  followRedirects: false, totalTimeout: configuration.etagTimeout)
            let r = try send(req, retries: retries)
            if (300..<400).contains(r.status), let loc = r.header("location"), !loc.contains("://"), !loc.hasPrefix("//") {
                url = Self.origin(url) + (loc.hasPrefix("/") ? loc : "/" + loc)
                continue
            }
            if r.status >= 400 {
                if r.header("x-error-code") == "EntryNotFound" { notFoundCommit = r.header("x-repo-commit") }
                try raiseForStatus(r, url: url, repo: repo, revision: revision, path: path)
            }
            guard let commit = r.header("x-repo-commit"), commit.isCommitHash else { throw .metadataMissing(url: url, header: "X-Repo-Commit") }
            guard let etagRaw = r.header("x-linked-etag") ?? r.header("etag") else { throw .metadataMissing(url: url, header: "ETag") }
            let etag = Self.normalizeETag(etagRaw)
            // The etag becomes a file name under blobs/: allow only what git/LFS hashes (and CDN etags) use.
            guard !etag.isEmpty, etag.count <= 128, !etag.hasPrefix("."),
                  etag.unicodeScalars.allSatisfy({ ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "-" || $0 == "_" || $0 == "." })
            else { throw .metadataMissing(url: url, header: "ETag") }
            let isRedirect = (300..<400).contains(r.status)
            guard let size = (r.header("x-linked-size") ?? (isRedirect ? nil : r.header("content-length"))).flatMap(Int.init), size >= 0 else {
                throw .metadataMissing(url: url, header: "X-Linked-Size/Content-Length")
            }
            return FileMetadata(commit: commit, etag: etag, size: size, location: r.header("location") ?? url)
        }
        throw .invalidResponse(url: url, message: "more than 10 relative redirects")
    }
}
