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
    public static func run(path: String, overrides: [String]) -> Int32 {
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
            if !recipe.data.eval.isEmpty {
                examples = try prep.prepare(prep.loadRows(recipe.data.eval).rows).examples
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
            let out: Value = ["split": .string(split), "examples": .int(examples.count), "loss_tokens": .int(total.count),
                              "eval_loss": .double(loss), "eval_perplexity": .double(exp(loss)),
                              "eval_mean_token_accuracy": .double(Double(total.correct) / Double(max(1, total.count))),
                              "eval_entropy": .double(total.entropySum / Double(max(1, total.count)))]
            print(JSON.serialize(out))
            return 0
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            return 1
        }
    }
}
