/// Whether a token's byte range overlaps any of a conversation's assistant spans (`end > s && start < e`, as
/// transformers tests), in O(log spans) per token rather than a scan of every span: spans sorted by start, with the
/// furthest end among each sorted prefix.
struct SpanOverlap {
    let starts: [Int]
    let furthestEnd: [Int]

    init(_ spans: [Range<Int>]) {
        let sorted = spans.sorted { $0.lowerBound < $1.lowerBound }
        starts = sorted.map(\.lowerBound)
        var end = Int.min
        furthestEnd = sorted.map { end = max(end, $0.upperBound); return end }
    }

    func hits(_ o: Range<Int>) -> Bool {
        // The spans that start before the token ends are a sorted prefix; one of them must end after it starts.
        var lo = 0, hi = starts.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if starts[mid] < o.upperBound { lo = mid + 1 } else { hi = mid }
        }
        return lo > 0 && furthestEnd[lo - 1] > o.lowerBound
    }
}
