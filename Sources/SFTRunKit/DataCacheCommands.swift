import Foundation

/// `sftrun cache ls` (the data cache part) and `sftrun cache clear-data`.
public struct DataCacheCommands {
    public var cache: DataCache
    public var out: (String) -> Void
    public var err: (String) -> Void

    public init(cache: DataCache = DataCache(directory: DataCache.defaultDirectory()), out: @escaping (String) -> Void = { print($0) },
                err: @escaping (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }) {
        self.cache = cache
        self.out = out
        self.err = err
    }

    /// One line per cache file: fingerprint, size, examples, tokens (from the header; `?` when unreadable).
    public func list() {
        let entries = cache.entries()
        guard !entries.isEmpty else {
            out("no data cache files in \(cache.directory.path)")
            return
        }
        out("\ndata cache \(cache.directory.path)")
        out("FINGERPRINT".padding(toLength: 66, withPad: " ", startingAt: 0) + " SIZE       EXAMPLES  TOKENS")
        for e in entries {
            let name = e.url.deletingPathExtension().lastPathComponent
            func count(_ n: Int) -> String { n < 0 ? "?" : String(n) }
            out(name.padding(toLength: 66, withPad: " ", startingAt: 0) + " " + HubCommands.formatBytes(e.bytes).padding(toLength: 10, withPad: " ", startingAt: 0)
                + " " + count(e.examples).padding(toLength: 9, withPad: " ", startingAt: 0) + " " + count(e.tokens))
        }
    }

    public func clear() -> Int32 {
        do {
            let n = try cache.clear()
            out("removed \(n) data cache file(s) from \(cache.directory.path)")
            return 0
        } catch {
            err("cannot clear the data cache \(cache.directory.path): \(error)")
            return 1
        }
    }
}
