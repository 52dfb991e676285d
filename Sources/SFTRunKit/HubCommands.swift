import Foundation
import HubClient

/// `sftrun download` and `sftrun cache ls|rm`, over the Hub client and the shared HF cache.
public struct HubCommands {
    public var out: (String) -> Void
    public var err: (String) -> Void
    public var configuration: HubConfiguration

    public init(configuration: HubConfiguration = .fromEnvironment(), out: @escaping (String) -> Void = { print($0) },
                err: @escaping (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) {
        self.configuration = configuration
        self.out = out
        self.err = err
    }

    static func isGlob(_ s: String) -> Bool { s.contains { "*?[".contains($0) } }

    /// Downloads named files, or a filtered snapshot, and prints the snapshot folder.
    public func download(repo: String, files: [String], revision: String, type: RepoType,
                         include: [String], exclude: [String], progress: any DownloadProgressReporter) -> Int32 {
        let client = HubClient(configuration: configuration, progress: progress, warningHandler: { FileHandle.standardError.write(Data("warning: \($0)\n".utf8)) })
        do {
            if !files.isEmpty {
                var folder: URL?
                for f in files {
                    let path = try client.downloadFile(repo: repo, type: type, revision: revision, path: f)
                    var root = path
                    for _ in f.split(separator: "/") { root.deleteLastPathComponent() }
                    folder = root
                }
                out(folder!.path)
                return 0
            }
            // A literal --include names a file: its absence is an error, not an empty download.
            let literal = include.filter { !Self.isGlob($0) && !$0.hasSuffix("/") }
            if !literal.isEmpty && !configuration.offline {
                let names = Set(try client.listFiles(repo: repo, type: type, revision: revision).map(\.path))
                if let missing = literal.first(where: { !names.contains($0) }) {
                    err("\(repo)@\(revision) has no file \"\(missing)\"; check the name (`sftrun download \(repo) --include '*'` lists by downloading, the Hub page shows the files)")
                    return 1
                }
            }
            let folder = try client.snapshotDownload(repo: repo, type: type, revision: revision,
                                                     include: include.isEmpty ? nil : include, exclude: exclude.isEmpty ? nil : exclude)
            out(folder.path)
            return 0
        } catch {
            err("\(error)")
            return 1
        }
    }

    /// Cached repos with their sizes, like `hf cache scan`.
    public func list() -> Int32 {
        let repos: [HubCache.CachedRepo]
        do { repos = try HubCache(root: configuration.cacheDirectory).scan() } catch {
            err("\(error)")
            return 1
        }
        if repos.isEmpty {
            out("no cached repositories in \(configuration.cacheDirectory.path)")
            return 0
        }
        out("REPO ID".padding(toLength: 48, withPad: " ", startingAt: 0) + " TYPE    " + "SIZE".padding(toLength: 10, withPad: " ", startingAt: 0) + " FILES  REFS")
        for r in repos.sorted(by: { ($0.type.rawValue, $0.repo) < ($1.type.rawValue, $1.repo) }) {
            let refs = r.revisions.values.flatMap { $0 }.sorted().joined(separator: ",")
            out(r.repo.padding(toLength: 48, withPad: " ", startingAt: 0) + " " + r.type.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)
                + " " + Self.formatBytes(r.sizeOnDisk).padding(toLength: 10, withPad: " ", startingAt: 0) + " " + String(r.fileCount).padding(toLength: 6, withPad: " ", startingAt: 0) + " " + refs)
        }
        return 0
    }

    public func remove(repo: String, type: RepoType) -> Int32 {
        let cache = HubCache(root: configuration.cacheDirectory)
        let removed: Bool
        do { removed = try cache.remove(repo: repo, type: type) } catch {
            err("\(error)")
            return 1
        }
        if removed {
            out("removed \(type.rawValue) \(repo) from \(configuration.cacheDirectory.path)")
            return 0
        }
        err("\(type.rawValue) \(repo) is not in the cache \(configuration.cacheDirectory.path); `sftrun cache ls` lists what is")
        return 1
    }

    static func formatBytes(_ n: Int) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var v = Double(n), i = 0
        while v >= 1000 && i < units.count - 1 { v /= 1000; i += 1 }
        return i == 0 ? "\(n) B" : String(format: "%.1f %@", v, units[i])
    }
}
