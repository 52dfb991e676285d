import Foundation
import Tokenization

/// Encode throughput of a tokenizer on a text file (one example per line): one core, then all cores.
public enum TokenizerBenchmark {
    public struct Result: Sendable {
        public var megabytes: Double
        public var lines: Int
        public var tokens: Int
        public var oneCoreMBps: Double
        public var allCoresMBps: Double
    }

    public static func run(tokenizer: Tokenizer, lines: [String], repeats: Int = 3) -> Result {
        let mb = Double(lines.reduce(0) { $0 + $1.utf8.count }) / 1e6
        func best(_ body: () -> Int) -> (Double, Int) {
            var fastest = Double.infinity, tokens = 0
            for _ in 0..<repeats {
                let start = DispatchTime.now().uptimeNanoseconds
                tokens = body()
                fastest = min(fastest, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
            }
            return (fastest, tokens)
        }
        // A fresh tokenizer per measurement would also time cache warm-up; both runs see a warm word cache, as the
        // Python library's does after its first batch.
        let (serial, tokens) = best { lines.reduce(0) { $0 + tokenizer.encode($1).ids.count } }
        let (parallel, _) = best { tokenizer.encodeBatch(lines).reduce(0) { $0 + $1.ids.count } }
        return Result(megabytes: mb, lines: lines.count, tokens: tokens, oneCoreMBps: mb / serial, allCoresMBps: mb / parallel)
    }
}
