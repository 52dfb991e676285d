import Datasets
import Foundation
import Models
import PEFT
import Recipes
import TensorCore
import Values

/// `sftrun eval RECIPE`: the loss and perplexity of the model as it is (with `peft.adapter_path` applied) on
/// `data.eval`, else the `val_set_size` split, else the training data; one JSON object on stdout.
public enum EvalCommand {
    /// With `exactMatch`, also generates greedily from each eval row's `prompt` and scores the share of rows whose
    /// output (up to EOS or a newline, trimmed) equals the trimmed `completion`.
    public static func run(path: String, overrides: [String], exactMatch: Bool = false, show: Int = 0) -> Int32 {
        let resolved: ResolvedRecipe
        do { resolved = try RecipeResolver.resolve(path: path, overrides: overrides) } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            return 1
        }
        do {
            let recipe = resolved.recipe
            let backend = CPUBackend(threads: recipe.threads ?? 0)
            let dir = (resolved.document.file as NSString).deletingLastPathComponent
            let prep = try DataPreparation(recipe: recipe, recipeDirectory: dir.isEmpty ? "." : dir)
            let model = try ModelLoading.load(recipe, backend: backend).model
            if prep.tokenizer.vocabSize > model.config.vocabSize {
                model.resizeTokenEmbeddings(to: prep.tokenizer.vocabSize, multipleOf: recipe.tokenizer.resizeToMultipleOf)
            }
            if let adapter = recipe.lora?.adapterPath { _ = try AdapterFile.load(directory: URL(fileURLWithPath: adapter), into: model) }
            var examples: [TokenizedExample]
            var split = "eval"
            var evalRows: [Row] = []
            if !recipe.data.eval.isEmpty {
                evalRows = try prep.loadRows(recipe.data.eval).rows
                examples = try prep.prepare(evalRows).examples
            } else {
                let train = try prep.prepare(prep.loadRows(recipe.data.train).rows).examples
                if recipe.data.valSetSize > 0 {
                    examples = LocalTrainer.split(train, size: recipe.data.valSetSize, seed: UInt64(recipe.training.seed)).1
                    split = "val_set_size"
                } else {
                    examples = train
                    split = "train"
                }
            }
            let padID = prep.tokenizer.padTokenId ?? prep.tokenizer.eosTokenId ?? 0
            let bs = recipe.training.perDeviceEvalBatchSize
            var weighted = 0.0, rows = 0, total = LinearCrossEntropy.Result(lossSum: 0, count: 0)
            for start in stride(from: 0, to: examples.count, by: bs) {
                let b = Collator.pad(Array(examples[start..<min(examples.count, start + bs)]), padID: padID, padToMultipleOf: recipe.data.padToMultipleOf)
                let input = ModelInput(batch: b.batchSize, seqLen: b.length, inputIds: b.inputIDs.map(Int32.init), labels: b.labels.map(Int32.init),
                                       attentionMask: b.attentionMask.map { $0 != 0 }, positions: b.positionIDs.map(Int32.init))
                let r = model.loss(input)
                guard r.count > 0 else { continue }
                weighted += r.lossSum / Double(r.count) * Double(b.batchSize)
                rows += b.batchSize
                total = total + r
            }
            let loss = weighted / Double(max(1, rows))
            var out: Value = ["split": .string(split), "examples": .int(examples.count), "loss_tokens": .int(total.count),
                              "eval_loss": .double(loss), "eval_perplexity": .double(exp(loss)),
                              "eval_mean_token_accuracy": .double(Double(total.correct) / Double(max(1, total.count))),
                              "eval_entropy": .double(total.entropySum / Double(max(1, total.count)))]
            if exactMatch {
                guard !evalRows.isEmpty, evalRows.allSatisfy({ $0["prompt"]?.stringValue != nil && $0["completion"]?.stringValue != nil }) else {
                    throw TrainingRunError("--exact-match needs data.eval rows with string prompt and completion columns")
                }
                let g = Generator(model: model, tokenizer: prep.tokenizer, chat: nil)
                var o = Generator.Options()
                o.stop = ["\n"]
                var hits = 0
                for (i, row) in evalRows.enumerated() {
                    let want = row["completion"]!.stringValue!.trimmingCharacters(in: .whitespacesAndNewlines)
                    o.maxNewTokens = prep.tokenizer.encode(want, addSpecialTokens: false).ids.count + 4
                    let ids = try g.promptIds(text: row["prompt"]!.stringValue!, messages: nil)
                    let got = prep.tokenizer.decodeText(g.generate(ids, o), skipSpecialTokens: true).trimmingCharacters(in: .whitespacesAndNewlines)
                    if got == want { hits += 1 }
                    if i < show { FileHandle.standardError.write(Data("\(got == want ? "✓" : "✗") \(JSON.quote(row["prompt"]!.stringValue!)) → \(JSON.quote(got)) (want \(JSON.quote(want)))\n".utf8)) }
                }
                _ = out.setValue(.double(Double(hits) / Double(evalRows.count)), at: ["exact_match"])
                _ = out.setValue(.int(evalRows.count), at: ["exact_match_rows"])
            }
            print(JSON.serialize(out))
            return 0
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            return 1
        }
    }
}
