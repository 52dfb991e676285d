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
}
