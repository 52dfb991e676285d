/// Packing several tokenized examples into rows of at most `seqLength` tokens, exactly as TRL 1.16's
/// `pack_dataset` (`trl/data_utils.py` `_pack_bfd`, `_pack_wrapped`).
public enum PackingStrategy: String, Sendable, CaseIterable {
    /// Best-fit decreasing; examples longer than a row are truncated.
    case bfd
    /// Best-fit decreasing; long examples are split into row-sized pieces instead.
    case bfdSplit = "bfd_split"
    /// Concatenate everything and cut into rows (crosses example boundaries).
    case wrapped
}

/// One packed row: each column's tokens and the length of each example in it (position ids restart at each).
public struct PackedRow: Sendable, Equatable {
    public var columns: [[Int]]
    /// Example lengths in order; empty for `wrapped` (TRL writes no `seq_lengths` there).
    public var sequenceLengths: [Int]

    /// Position ids restarting at 0 for each example (what TRL's collator builds from `seq_lengths`).
    public var positionIDs: [Int] {
        if sequenceLengths.isEmpty { return Array(0..<(columns.first?.count ?? 0)) }
        return sequenceLengths.flatMap { 0..<$0 }
    }
}

public enum Packer {
    /// TRL packs through `datasets.map(batched=True)`, whose default batch is 1000 rows; each batch packs alone.
    public static let trlBatchSize = 1000

    /// Packs examples given as parallel columns (e.g. `[input_ids, completion_mask]`, all of one length per example).
    public static func pack(_ examples: [[[Int]]], seqLength: Int, strategy: PackingStrategy, batchSize: Int = trlBatchSize) -> [PackedRow] {
        precondition(seqLength > 0)
        var rows: [PackedRow] = []
        var start = 0
        while start < examples.count {
            let batch = Array(examples[start..<min(start + batchSize, examples.count)])
            switch strategy {
            case .wrapped: rows += wrapped(batch, seqLength: seqLength)
            case .bfd: rows += bestFitDecreasing(batch, seqLength: seqLength, split: false)
            case .bfdSplit: rows += bestFitDecreasing(batch, seqLength: seqLength, split: true)
            }
            start += batchSize
        }
        return rows
    }

    static func wrapped(_ batch: [[[Int]]], seqLength: Int) -> [PackedRow] {
        guard let columnCount = batch.first?.count else { return [] }
        let flat = (0..<columnCount).map { c in batch.flatMap { $0[c] } }
        return stride(from: 0, to: flat[0].count, by: seqLength).map { offset in
            PackedRow(columns: flat.map { Array($0[offset..<min(offset + seqLength, $0.count)]) }, sequenceLengths: [])
        }
    }

    static func bestFitDecreasing(_ batch: [[[Int]]], seqLength: Int, split: Bool) -> [PackedRow] {
        // Empty examples are dropped; long ones truncated or cut into pieces (the last piece holds the remainder).
        var pieces: [[[Int]]] = []
        for example in batch where !(example.first?.isEmpty ?? true) {
            let n = example[0].count
            if split {
                var offset = 0
                while offset < n {
                    pieces.append(example.map { Array($0[offset..<min(offset + seqLength, n)]) })
                    offset += seqLength
                }
            } else {
                pieces.append(example.map { Array($0.prefix(seqLength)) })
            }
        }
        // Longest first; ties keep their order (pyarrow's sort is stable).
        let order = pieces.indices.sorted { pieces[$0][0].count != pieces[$1][0].count ? pieces[$0][0].count > pieces[$1][0].count : $0 < $1 }
        var tree = MaxSegmentTree(maxValue: seqLength)
        tree.add(seqLength)
        var binsBySpace: [Int: [Int]] = [:]  // space left → bins with it, oldest first
        var bins: [(ids: [Int], length: Int)] = []
        for id in order {
            let length = pieces[id][0].count
            let space = tree.search(length)
            let bin: Int
            if space < seqLength {
                bin = binsBySpace[space]!.removeFirst()
                if binsBySpace[space]!.isEmpty { tree.remove(space) }
            } else {
                bin = bins.count
                bins.append(([], 0))
            }
            bins[bin].ids.append(id)
            bins[bin].length += length
            let left = space - length
            binsBySpace[left, default: []].append(bin)
            if left > 0 { tree.add(left) }
        }
        return bins.map { bin in
            let columnCount = pieces[bin.ids[0]].count
            return PackedRow(columns: (0..<columnCount).map { c in bin.ids.flatMap { pieces[$0][c] } },
                             sequenceLengths: bin.ids.map { pieces[$0][0].count })
        }
    }
}

/// The segment tree TRL uses to find, in O(log n), the smallest free space that fits a length.
struct MaxSegmentTree {
    let size: Int
    var tree: [Int]

    init(maxValue: Int) {
        var s = 1
        while s < maxValue { s <<= 1 }
        size = s
        tree = [Int](repeating: 0, count: 2 * s)
    }

    mutating func set(_ value: Int, _ leaf: Int) {
        var i = size + value - 1
        tree[i] = leaf
        while i > 1 {
            i >>= 1
            tree[i] = max(tree[2 * i], tree[2 * i + 1])
        }
    }

    mutating func add(_ value: Int) { set(value, value) }
    mutating func remove(_ value: Int) { set(value, 0) }

    /// The smallest value present that is >= `value` (the leftmost leaf that fits).
    func search(_ value: Int) -> Int {
        var i = 1
        while i < size { i = tree[2 * i] >= value ? 2 * i : 2 * i + 1 }
        return tree[i]
    }
}
