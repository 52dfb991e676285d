/// A padded batch ready for the model: row-major `[B, T]` ids, labels, attention mask and position ids.
public struct PaddedBatch: Sendable, Equatable {
    public var batchSize: Int
    public var length: Int
    public var inputIDs: [Int]
    public var labels: [Int]
    public var attentionMask: [Int]
    public var positionIDs: [Int]
    /// For packed rows: which example each token belongs to (0, 1, ...), so attention never crosses examples.
    public var segmentIDs: [Int]?

    /// Tokens whose *shifted* label carries loss: the count the loss is divided by (TRL/transformers' rule).
    public var lossTokenCount: Int {
        var n = 0
        for b in 0..<batchSize { for t in 1..<max(length, 1) where labels[b * length + t] != TokenizedExample.ignoreIndex { n += 1 } }
        return n
    }
}

public enum Collator {
    /// Right-pads to the longest row (or a multiple of `padToMultipleOf`). Padding gets label -100 and attention 0;
    /// labels are never derived from comparing ids with the pad id, so a pad equal to EOS still trains the real EOS.
    public static func pad(_ examples: [TokenizedExample], padID: Int, padToMultipleOf: Int? = nil) -> PaddedBatch {
        var length = examples.map(\.inputIDs.count).max() ?? 0
        if let m = padToMultipleOf, m > 1 { length = (length + m - 1) / m * m }
        var batch = PaddedBatch(batchSize: examples.count, length: length, inputIDs: [], labels: [], attentionMask: [], positionIDs: [])
        batch.inputIDs.reserveCapacity(examples.count * length)
        for e in examples {
            let pad = length - e.inputIDs.count
            batch.inputIDs += e.inputIDs + Array(repeating: padID, count: pad)
            batch.labels += e.labels + Array(repeating: TokenizedExample.ignoreIndex, count: pad)
            batch.attentionMask += Array(repeating: 1, count: e.inputIDs.count) + Array(repeating: 0, count: pad)
            batch.positionIDs += Array(0..<e.inputIDs.count) + Array(repeating: 0, count: pad)
        }
        return batch
    }

    /// Packed rows: positions restart per example and segment ids separate examples; padding as in `pad`.
    /// Columns are `[input_ids, labels]`; at each example's first token the label is -100 so that no loss is taken
    /// for predicting across the example boundary (TRL's padding-free collator does the same).
    public static func packed(_ rows: [PackedRow], padID: Int) -> PaddedBatch {
        let length = rows.map { $0.columns[0].count }.max() ?? 0
        var batch = PaddedBatch(batchSize: rows.count, length: length, inputIDs: [], labels: [], attentionMask: [], positionIDs: [], segmentIDs: [])
        for row in rows {
            let n = row.columns[0].count, pad = length - n
            var labels = row.columns[1]
            var segments: [Int] = []
            var start = 0
            for (s, len) in (row.sequenceLengths.isEmpty ? [n] : row.sequenceLengths).enumerated() {
                if start > 0 { labels[start] = TokenizedExample.ignoreIndex }
                segments += Array(repeating: s, count: len)
                start += len
            }
            batch.inputIDs += row.columns[0] + Array(repeating: padID, count: pad)
            batch.labels += labels + Array(repeating: TokenizedExample.ignoreIndex, count: pad)
            batch.attentionMask += Array(repeating: 1, count: n) + Array(repeating: 0, count: pad)
            batch.positionIDs += row.positionIDs + Array(repeating: 0, count: pad)
            batch.segmentIDs! += segments + Array(repeating: -1, count: pad)
        }
        return batch
    }
}
