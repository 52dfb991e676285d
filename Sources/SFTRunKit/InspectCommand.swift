import Foundation
import Datasets
import Recipes
import Tokenization

/// `sftrun inspect RECIPE [--n 3]`: the first processed examples as the model sees them, loss-bearing text marked,
/// and statistics of the whole training set — before anything heavy is loaded.
public struct InspectCommand {
    public var out: (String) -> Void = { print($0) }
    public var err: (String) -> Void = { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
    public var color = isatty(1) != 0

    public init() {}

    /// Decoded text of `ids` with the loss-bearing runs marked: green on a terminal, «…» otherwise.
    func marked(_ e: TokenizedExample, _ tokenizer: Tokenizer) -> String {
        var out = ""
        var i = 0
        while i < e.inputIDs.count {
            let trained = e.labels[i] != TokenizedExample.ignoreIndex
            var j = i
            while j < e.inputIDs.count, (e.labels[j] != TokenizedExample.ignoreIndex) == trained { j += 1 }
            let text = tokenizer.decode(Array(e.inputIDs[i..<j]))
            out += trained ? (color ? "\u{1B}[32m\(text)\u{1B}[0m" : "«\(text)»") : text
            i = j
        }
        return out
    }

    public func run(path: String, overrides: [String], count: Int) -> Int32 {
        let resolved: ResolvedRecipe
        do { resolved = try RecipeResolver.resolve(path: path, overrides: overrides) } catch {
            err("\(error)")
            return 1
        }
        resolved.diagnostics.forEach { err($0.description) }
        let recipe = resolved.recipe
        do {
            let prep = try DataPreparation(recipe: recipe, recipeDirectory: (path as NSString).deletingLastPathComponent)
            let loaded = try prep.loadRows(recipe.data.train)
            let prepared = try prep.prepare(loaded.rows)
            out("format: \(prepared.format.rawValue)   loss-bearing text is marked \(color ? "in green" : "«like this»")")
            for (i, e) in prepared.examples.prefix(count).enumerated() {
                out("--- example \(i) (\(e.inputIDs.count) tokens, \(e.labels.filter { $0 != TokenizedExample.ignoreIndex }.count) with loss)")
                out(marked(e, prep.tokenizer))
                out("ids: \(e.inputIDs)")
            }
            let tokens = prepared.examples.reduce(0) { $0 + $1.inputIDs.count }
            let lossTokens = prepared.examples.reduce(0) { $0 + $1.labels.filter { $0 != TokenizedExample.ignoreIndex }.count }
            out("--- statistics")
            out("rows read: \(loaded.rows.count)   bad rows skipped: \(loaded.skipped.count)   examples kept: \(prepared.examples.count)   dropped: \(prepared.skipped.count)")
            out("tokens: \(tokens)   with loss: \(lossTokens) (\(String(format: "%.1f", tokens > 0 ? 100 * Double(lossTokens) / Double(tokens) : 0)) %)   truncated to max_length: \(prepared.truncated)")
            DataChecks.lengthHistogram(prepared.examples, maxLength: recipe.data.maxLength).forEach(out)
            if recipe.data.packing, let m = recipe.data.maxLength {
                let strategy = PackingStrategy(rawValue: recipe.data.packingStrategy) ?? .bfd
                let rows = Packer.pack(prepared.examples.map { [$0.inputIDs, $0.labels] }, seqLength: m, strategy: strategy)
                out(DataChecks.packingLine(rows: rows, seqLength: m, strategy: strategy))
            }
            for s in prepared.skipped.prefix(3) { err("dropped: \(s)") }
            for w in try DataChecks.labelChecks(examples: prepared.examples, dropped: prepared.skipped, tokenizer: prep.tokenizer,
                                                maxUnsupervisedFraction: recipe.data.maxUnsupervisedFraction) { err(w) }
            return 0
        } catch {
            err("\(error)")
            return 1
        }
    }
}
