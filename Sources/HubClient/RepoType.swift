/// The three kinds of Hub repository; each has its own URL prefix and cache folder prefix (huggingface_hub `constants.REPO_TYPES`).
public enum RepoType: String, Sendable, CaseIterable {
    case model, dataset, space

    /// Prefix of `resolve` URLs: models have none (`{endpoint}/{repo}/resolve/...`).
    var urlPrefix: String {
        switch self {
        case .model: return ""
        case .dataset: return "datasets/"
        case .space: return "spaces/"
        }
    }

    /// Plural used by the API (`/api/models/...`) and by cache folders (`models--org--name`).
    var plural: String { rawValue + "s" }

    /// Cache folder name of a repo, `"{type}s--" + repo_id with "/" replaced by "--"` (huggingface_hub `repo_folder_name`).
    func cacheFolderName(_ repo: String) -> String {
        ([plural] + repo.split(separator: "/").map(String.init)).joined(separator: "--")
    }
}

/// One file of a repository as listed by the tree API (`/api/{type}s/{repo}/tree/{rev}`).
public struct RepoFile: Sendable, Equatable {
    /// Path inside the repository, `/`-separated.
    public var path: String
    /// Size in bytes (the LFS object's size for LFS files).
    public var size: Int
    /// Git blob sha1 (`oid`).
    public var blobID: String
    /// sha256 of the content for LFS/Xet files (`lfs.oid`), which is also their etag.
    public var lfsSHA256: String?

    public init(path: String, size: Int, blobID: String, lfsSHA256: String? = nil) {
        self.path = path; self.size = size; self.blobID = blobID; self.lfsSHA256 = lfsSHA256
    }
}
