/// Validation of file names that come from the Hub (listings, indexes, user input) before they touch the file
/// system — huggingface_hub `_validate_relative_filename` plus backslashes and NUL.
enum RepoPath {
    static func validate(_ name: String) throws(HubError) {
        if name.isEmpty { throw .invalidFileName(name, reason: "it is empty") }
        if name.utf8.contains(0) { throw .invalidFileName(name, reason: "it contains a NUL byte") }
        if name.contains("\\") { throw .invalidFileName(name, reason: "it contains a backslash") }
        if name.hasPrefix("/") { throw .invalidFileName(name, reason: "it is an absolute path") }
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        if let first = parts.first, first.count >= 2, first.last == ":" { throw .invalidFileName(name, reason: "it starts with a drive letter") }
        for p in parts {
            if p == ".." { throw .invalidFileName(name, reason: "it contains a '..' segment") }
            if p.isEmpty || p == "." { throw .invalidFileName(name, reason: "it contains an empty or '.' segment") }
        }
    }

    /// Percent-encodes for a URL path; `safe` characters stay (Python `urllib.parse.quote`, whose default safe is "/").
    static func quote(_ s: String, safe: String = "/") -> String {
        let unreserved = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~".utf8).union(safe.utf8)
        var out = ""
        for b in s.utf8 {
            if unreserved.contains(b) { out.append(Character(Unicode.Scalar(b))) }
            else { out += "%" + String(b, radix: 16, uppercase: true).leftPadded(2) }
        }
        return out
    }
}

extension String {
    func leftPadded(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
    /// True for a full 40-hex git commit id.
    var isCommitHash: Bool { utf8.count == 40 && allSatisfy { $0.isHexDigit && !$0.isUppercase } }
    /// True for a 40-hex git blob id (the etag of a git-stored, non-LFS file).
    var isGitBlobID: Bool { isCommitHash }
    /// True for a 64-hex sha256 (an LFS etag).
    var isSHA256: Bool { utf8.count == 64 && allSatisfy { $0.isHexDigit && !$0.isUppercase } }
}
