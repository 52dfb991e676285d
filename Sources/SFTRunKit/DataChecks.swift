import Datasets
import Foundation
import Tokenization

/// The label checks that stop a bad run before it starts, shared by `sftrun train` and `sftrun inspect`.
enum DataChecks {
    struct TooManyUnsupervised: Error, CustomStringConvertible { var description: String }

    /// Warnings to print (EOS never trained); throws when more than `maxUnsupervisedFraction` of the examples
    /// carry no loss-bearing token (each was dropped, as TRL drops fully masked examples).
    static func labelChecks(examples: [TokenizedExample], dropped: [String], tokenizer: Tokenizer, maxUnsupervisedFraction: Double) throws -> [String] {
        var warnings: [String] = []
        if let eos = tokenizer.eosTokenId, !examples.isEmpty,
           !examples.contains(where: { e in zip(e.inputIDs, e.labels).contains { $0.0 == eos && $0.1 != TokenizedExample.ignoreIndex } }) {
            warnings.append("warning: the EOS token (\(tokenizer.eosToken ?? "")) never carries a label, so the model cannot learn to stop; check data.add_eos and the chat template")
        }
        let unsupervised = Double(dropped.count) / Double(max(examples.count + dropped.count, 1))
        if unsupervised > maxUnsupervisedFraction {
            throw TooManyUnsupervised(description: "\(String(format: "%.1f", unsupervised * 100)) % of the examples carry no loss (more than data.max_unsupervised_fraction \(maxUnsupervisedFraction)); first: \(dropped.first ?? ""); check the loss masking options (completion_only_loss, assistant_only_loss, response_template) or raise data.max_unsupervised_fraction")
        }
        return warnings
    }

    /// One line of training-set statistics: examples, tokens, the share with loss, truncations.
    static func summary(_ examples: [TokenizedExample], dropped: Int, truncated: Int) -> String {
        let tokens = examples.reduce(0) { $0 + $1.inputIDs.count }
        let lossTokens = examples.reduce(0) { $0 + $1.labels.filter { $0 != TokenizedExample.ignoreIndex }.count }
        return "data: \(examples.count) training examples (\(dropped) dropped), \(tokens) tokens, \(String(format: "%.1f", tokens > 0 ? 100 * Double(lossTokens) / Double(tokens) : 0)) % with loss, \(truncated) truncated to max_length"
    }

    /// The length histogram against `max_length` (8 buckets, bars scaled to 40 characters).
    static func lengthHistogram(_ examples: [TokenizedExample], maxLength: Int?) -> [String] {
        let limit = maxLength ?? (examples.map(\.inputIDs.count).max() ?? 1)
        var buckets = [Int](repeating: 0, count: 8)
        for e in examples { buckets[min(7, max(0, (e.inputIDs.count - 1) * 8 / max(limit, 1)))] += 1 }
        let peak = max(buckets.max() ?? 1, 1)
        var out = ["length histogram (max_length \(limit)):"]
        for (b, n) in buckets.enumerated() {
            let lo = b * limit / 8 + 1, hi = (b + 1) * limit / 8
            out.append(String(format: "  %5d-%-5d %6d ", lo, hi, n) + String(repeating: "#", count: n * 40 / peak))
        }
        return out
    }

    /// "packing (bfd): R rows of L, efficiency E %".
    static func packingLine(rows: [PackedRow], seqLength: Int, strategy: PackingStrategy) -> String {
        let used = rows.reduce(0) { $0 + $1.columns[0].count }
        return "packing (\(strategy.rawValue)): \(rows.count) rows of \(seqLength), efficiency \(String(format: "%.1f", 100 * Double(used) / Double(max(rows.count * seqLength, 1)))) %"
    }
}
