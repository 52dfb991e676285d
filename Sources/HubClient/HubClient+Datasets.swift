import Foundation

/// The local files of one split of a Hub dataset, in the HF cache (`datasets--org--name/snapshots/<commit>/...`).
public struct DatasetSplitFiles: Sendable, Equatable {
    /// Snapshot paths, in reading order.
    public var files: [URL]
    /// The commit they were read at (of `refs/convert/parquet` when `converted`).
    public var commit: String
    /// Paths inside the repo.
    public var repoPaths: [String]
    /// True when the files come from the Hub's Parquet conversion.
    public var converted: Bool
}

extension HubClient {
    /// The Hub's branch holding its Parquet export of every dataset (`datasets` `refs/convert/parquet`).
    public static let parquetConversionRevision = "refs/convert/parquet"

    /// Finds and downloads the files of `split` (and config `config`) of dataset `repo` the way
    /// `datasets.load_dataset(repo, config, split=)` picks them for a repo without a loading script (see
    /// `DatasetDataFiles`), into the HF cache, and returns their snapshot paths. Offline (or when the Hub cannot
    /// be reached) the same choice is made over the cached snapshot of the revision.
    public func datasetFiles(repo: String, split: String, config: String? = nil, revision: String = "main",
                             dataFiles: [String] = []) throws(HubError) -> DatasetSplitFiles {
        let commit = try resolveRevision(repo: repo, type: .dataset, revision: revision)
        let (paths, online) = try datasetListing(repo: repo, revision: revision, commit: commit)
        var readme: String?
        if paths.contains("README.md") {
            let url = try downloadFile(repo: repo, type: .dataset, revision: commit, path: "README.md")
            readme = try? String(contentsOf: url, encoding: .utf8)
        }
        let resolution: DatasetDataFiles.Resolution
        do throws(HubError) {
            resolution = try DatasetDataFiles.select(paths: paths, readme: readme, repo: repo, revision: revision, config: config,
                                                     split: split, dataFiles: dataFiles)
        } catch {
            // A cached snapshot holds only the splits downloaded before: say that, not "the repo has no files".
            if case .noDataFiles = error, !online {
                throw .offlineMissing(repo: repo, revision: revision, path: "the data files of split '\(split)'", offline: configuration.offline)
            }
            throw error
        }
        switch resolution {
        case .files(let chosen):
            return try fetchDatasetFiles(repo: repo, commit: commit, paths: chosen, online: online, converted: false)
        case .parquetConversion(let tried):
            let conv = Self.parquetConversionRevision
            let convCommit: String
            do throws(HubError) {
                convCommit = try resolveRevision(repo: repo, type: .dataset, revision: conv)
            } catch {
                switch error {
                case .revisionNotFound:
                    throw .noDataFiles(repo: repo, revision: revision, split: split, tried: tried + ["the Parquet conversion (\(conv)): none"])
                default: throw error
                }
            }
            let (convPaths, convOnline) = try datasetListing(repo: repo, revision: conv, commit: convCommit)
            let chosen = try DatasetDataFiles.selectConverted(paths: convPaths, repo: repo, config: config, split: split)
            guard !chosen.isEmpty else {
                throw .noDataFiles(repo: repo, revision: revision, split: split, tried: tried + ["the Parquet conversion (\(conv)): no files for '\(split)'"])
            }
            return try fetchDatasetFiles(repo: repo, commit: convCommit, paths: chosen, online: convOnline, converted: true)
        }
    }

    /// The repo's files at `commit`: the tree API online; offline, or when the Hub cannot be reached, what the
    /// cached snapshot holds (with a warning when online). The flag says whether the listing came from the Hub.
    func datasetListing(repo: String, revision: String, commit: String) throws(HubError) -> ([String], Bool) {
        if !configuration.offline {
            do throws(HubError) {
                return (try listFiles(repo: repo, type: .dataset, revision: commit).map(\.path), true)
            } catch where error.allowsCacheFallback {
                let cached = cachedSnapshotFiles(repo: repo, commit: commit)
                if cached.isEmpty { throw error }
                warn("\(error.description) Using the cached files of '\(repo)' at \(commit).")
                return (cached, false)
            }
        }
        // An empty snapshot is fine here: the split may come from the cached Parquet conversion.
        return (cachedSnapshotFiles(repo: repo, commit: commit), false)
    }

    /// Relative paths of the files under `snapshots/<commit>` (symlinks to blobs, or real files without symlinks).
    func cachedSnapshotFiles(repo: String, commit: String) -> [String] {
        let folder = cache.snapshotFolder(repo, .dataset, commit: commit)
        guard let e = FileManager.default.enumerator(atPath: folder.path) else { return [] }
        var out: [String] = []
        while let p = e.nextObject() as? String {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder.appendingPathComponent(p).path, isDirectory: &isDir), !isDir.boolValue { out.append(p) }
        }
        return out.sorted()
    }

    private func fetchDatasetFiles(repo: String, commit: String, paths: [String], online: Bool, converted: Bool) throws(HubError) -> DatasetSplitFiles {
        if online { try downloadFiles(repo: repo, type: .dataset, commit: commit, paths: paths) }
        let urls = paths.map { cache.snapshotPath(repo, .dataset, commit: commit, path: $0) }
        for (p, u) in zip(paths, urls) where !FileManager.default.fileExists(atPath: u.path) {
            throw .offlineMissing(repo: repo, revision: commit, path: p, offline: configuration.offline)
        }
        return DatasetSplitFiles(files: urls, commit: commit, repoPaths: paths, converted: converted)
    }
}
