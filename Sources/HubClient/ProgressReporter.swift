import Foundation

/// Receives download progress. The CLI passes one in; calls come from several download threads at once.
public protocol DownloadProgressReporter: Sendable {
    /// A file starts downloading; `alreadyHave` bytes come from a resumed partial file.
    func fileStarted(_ path: String, totalBytes: Int, alreadyHave: Int)
    /// More bytes of `path` arrived; `bytesDone` counts from zero, including resumed bytes.
    func fileProgressed(_ path: String, bytesDone: Int, totalBytes: Int)
    /// `path` is in the cache (downloaded now, or `fromCache`).
    func fileFinished(_ path: String, fromCache: Bool)
}

/// Reports nothing.
public struct SilentProgressReporter: DownloadProgressReporter {
    public init() {}
    public func fileStarted(_ path: String, totalBytes: Int, alreadyHave: Int) {}
    public func fileProgressed(_ path: String, bytesDone: Int, totalBytes: Int) {}
    public func fileFinished(_ path: String, fromCache: Bool) {}
}

/// Writes to stderr: on a TTY a live line per update with bytes, rate and ETA; otherwise one quiet line per
/// finished file (logs of batch jobs stay readable).
public final class StandardProgressReporter: DownloadProgressReporter, @unchecked Sendable {
    private let lock = NSLock()
    private let interactive: Bool
    private var started: [String: (time: Double, base: Int)] = [:]
    private var lastPrint: Double = 0

    public init(interactive: Bool = isatty(2) != 0) { self.interactive = interactive }

    private static func now() -> Double {
        var ts = timespec(); clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// "1.5 MB" style sizes.
    static func format(bytes: Double) -> String {
        let units = ["B", "kB", "MB", "GB", "TB"]
        var v = bytes, i = 0
        while v >= 1000, i < units.count - 1 { v /= 1000; i += 1 }
        return i == 0 ? "\(Int(v)) B" : String(format: "%.1f %@", v, units[i])
    }

    public func fileStarted(_ path: String, totalBytes: Int, alreadyHave: Int) {
        lock.lock(); defer { lock.unlock() }
        started[path] = (Self.now(), alreadyHave)
    }

    public func fileProgressed(_ path: String, bytesDone: Int, totalBytes: Int) {
        guard interactive else { return }
        lock.lock(); defer { lock.unlock() }
        let t = Self.now()
        guard t - lastPrint > 0.2, let s = started[path] else { return }
        lastPrint = t
        let rate = Double(bytesDone - s.base) / max(t - s.time, 1e-3)
        let eta = rate > 0 ? Double(totalBytes - bytesDone) / rate : 0
        let line = "\r\(path): \(Self.format(bytes: Double(bytesDone)))/\(Self.format(bytes: Double(totalBytes))) \(Self.format(bytes: rate))/s ETA \(Int(eta))s\u{1B}[K"
        FileHandle.standardError.write(Data(line.utf8))
    }

    public func fileFinished(_ path: String, fromCache: Bool) {
        lock.lock(); defer { lock.unlock() }
        started[path] = nil
        let line = (interactive ? "\r" : "") + "\(path): \(fromCache ? "cached" : "downloaded")\(interactive ? "\u{1B}[K" : "")\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}
