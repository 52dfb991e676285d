import Foundation

/// Wall time per op, for `--profile`: where a training step's time goes. Off by default; a disabled probe is one
/// load and branch. Times are exclusive (a probe nested in another is subtracted from its parent), and only the
/// thread that enabled profiling records (ops themselves fan out with `parallelFor`, inside the probe).
public final class Profiler: @unchecked Sendable {
    public static let shared = Profiler()

    public private(set) var enabled = false
    private var owner: pthread_t?
    private var stack: [(label: String, start: UInt64, children: UInt64)] = []
    private var totals: [String: (nanoseconds: UInt64, calls: Int)] = [:]
    private var started: UInt64 = 0

    public func enable() {
        owner = pthread_self()
        totals = [:]
        stack = []
        started = Self.now()
        enabled = true
    }

    public func disable() { enabled = false }

    static func now() -> UInt64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return UInt64(t.tv_sec) * 1_000_000_000 + UInt64(t.tv_nsec)
    }

    /// Starts a probe; pair with `end` (use `defer`). Returns false when this call records nothing.
    @inline(__always)
    public static func begin(_ label: @autoclosure () -> String) -> Bool {
        guard shared.enabled else { return false }
        return shared.push(label())
    }

    @inline(__always)
    public static func end(_ began: Bool) {
        if began { shared.pop() }
    }

    /// Runs `body` under a probe.
    @inline(__always)
    public static func measure<T>(_ label: @autoclosure () -> String, _ body: () throws -> T) rethrows -> T {
        let b = begin(label())
        defer { end(b) }
        return try body()
    }

    private func push(_ label: String) -> Bool {
        guard let owner, pthread_equal(owner, pthread_self()) != 0 else { return false }
        stack.append((label, Self.now(), 0))
        return true
    }

    private func pop() {
        guard let top = stack.popLast() else { return }
        let elapsed = Self.now() - top.start
        let own = elapsed - min(elapsed, top.children)
        totals[top.label, default: (0, 0)].nanoseconds += own
        totals[top.label, default: (0, 0)].calls += 1
        if !stack.isEmpty { stack[stack.count - 1].children += elapsed }
    }

    /// One line per label, longest first: exclusive seconds, share of the wall time since `enable`, calls;
    /// "other" is the time outside every probe.
    public func report(title: String) -> [String] {
        let wall = Double(Self.now() - started) / 1e9
        let rows = totals.map { (label: $0.key, seconds: Double($0.value.nanoseconds) / 1e9, calls: $0.value.calls) }
            .sorted { $0.seconds > $1.seconds }
        let covered = rows.reduce(0) { $0 + $1.seconds }
        var out = [String(format: "profile (%@): %.2f s wall", title, wall)]
        for r in rows + [("other (outside the probes)", max(0, wall - covered), 0)] {
            let label = r.0.padding(toLength: max(44, r.0.count), withPad: " ", startingAt: 0)
            out.append("  " + label + String(format: " %9.3f s %6.1f %%  %8d calls", r.1, wall > 0 ? 100 * r.1 / wall : 0, r.2))
        }
        return out
    }
}
