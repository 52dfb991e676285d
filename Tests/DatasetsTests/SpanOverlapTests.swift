import XCTest
@testable import Datasets

final class SpanOverlapTests: XCTestCase {
    /// Against the definition (any span with `end > s && start < e`) on random spans and tokens, empty ones included.
    func testMatchesAScanOfEverySpan() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let spans: [Range<Int>] = (0..<Int.random(in: 0...6, using: &rng)).map { _ in
                let s = Int.random(in: 0...40, using: &rng)
                return s..<(s + Int.random(in: 0...8, using: &rng))
            }
            let overlap = SpanOverlap(spans)
            for a in 0...50 {
                for len in 0...3 {
                    let o = a..<(a + len)
                    let want = spans.contains { o.upperBound > $0.lowerBound && o.lowerBound < $0.upperBound }
                    XCTAssertEqual(overlap.hits(o), want, "token \(o) spans \(spans)")
                    if overlap.hits(o) != want { return }
                }
            }
        }
    }
}
