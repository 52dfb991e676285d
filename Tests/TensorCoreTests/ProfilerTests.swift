import TensorCore
import XCTest

final class ProfilerTests: XCTestCase {
    /// Probes count calls and nest: a 16-bit weight's decode is reported apart from the linear forward around it.
    func testProbesCountCallsAndNestExclusively() {
        let be = CPUBackend(threads: 1)
        let x = Tensor(shape: [4, 8], values: (0..<32).map { Float($0) / 32 })
        let w = Tensor(shape: [6, 8], bits: [UInt16](repeating: 0x3F80, count: 48), type: .bfloat16)
        _ = Linear.forward(be, x: x, weight: w, bias: nil)  // not recorded: profiling is off
        Profiler.shared.enable()
        defer { Profiler.shared.disable() }
        for _ in 0..<3 { _ = Linear.forward(be, x: x, weight: w, bias: nil) }
        let lines = Profiler.shared.report(title: "test")
        func calls(_ label: String) -> Int? {
            lines.first { $0.contains(label) }.flatMap { Int($0.split(separator: " ").dropLast().last ?? "") }
        }
        XCTAssertEqual(calls("linear forward"), 3, lines.joined(separator: "\n"))
        XCTAssertEqual(calls("weight decode"), 3, lines.joined(separator: "\n"))
        XCTAssertTrue(lines.last!.contains("other (outside the probes)"))
        XCTAssertNil(calls("attention"))
    }
}
