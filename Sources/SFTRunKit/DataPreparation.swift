import Foundation
import Datasets
import HubClient
import Recipes
import Tokenization
import Values

/// Recipe → tokenizer, chat format and tokenized examples: the data half of a run, shared by `inspect` and training.
public struct DataPreparation {
    public var recipe: Recipe
    public var tokenizer: Tokenizer
    public var chat: ChatFormat?

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The folder holding the tokenizer files: local, or fetched from the Hub into the HF cache.
    public static func tokenizerFolder(_ recipe: Recipe, hub: HubConfiguration = .fromEnvironment()) throws -> URL {
        let source = recipe.tokenizer.nameOrPath ?? recipe.model.nameOrPath
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: source, isDirectory: &isDir), isDir.boolValue {
            return URL(fileURLWithPath: source)
        }
        if source.hasSuffix(".gguf"), FileManager.default.fileExists(atPath: source) {
            do { return try GGUFTokenizer.folder(for: URL(fileURLWithPath: source)) } catch {
                throw Failure(description: "tokenizer: \(error)")
            }
        }
        let client = HubClient(configuration: hub, progress: StandardProgressReporter())
        do {
            return try client.snapshotDownload(repo: source, revision: recipe.model.revision, include: tokenizerFiles)
        } catch {
            throw Failure(description: "tokenizer \(source): \(error)")
        }
    }

    /// Files that make up a tokenizer, copied next to every saved model.
    public static let tokenizerFiles = ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt",
                                        "tokenizer.model", "added_tokens.json", "chat_template.jinja"]

    /// Loads the tokenizer from a local folder, or its files from the Hub into the HF cache.
    public static func loadTokenizer(_ recipe: Recipe, hub: HubConfiguration = .fromEnvironment()) throws -> Tokenizer {
        let folder = try tokenizerFolder(recipe, hub: hub)
        var tokenizer = try Tokenizer.load(directory: folder)
        if recipe.tokenizer.chatTemplate == "chatml" {
            tokenizer = tokenizer.addingSpecialTokens([ChatML.bos, ChatML.eos])
        }
        if !recipe.tokenizer.additionalSpecialTokens.isEmpty {
            tokenizer = tokenizer.addingSpecialTokens(recipe.tokenizer.additionalSpecialTokens)
        }
        return tokenizer
    }

    /// The chat template text: `chatml`, a file path, inline Jinja, or the tokenizer's own.
    public static func chatTemplateSource(_ recipe: Recipe, tokenizer: Tokenizer, recipeDirectory: String) throws -> String? {
        guard let t = recipe.tokenizer.chatTemplate else { return tokenizer.chatTemplate }
        if t == "chatml" { return ChatML.template }
        if t.hasSuffix(".jinja") || (!t.contains("{") && t.count < 300) {
            let path = t.hasPrefix("/") ? t : recipeDirectory + "/" + t
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw Failure(description: "tokenizer.chat_template: cannot read \(path); give a .jinja file, inline Jinja, or chatml")
            }
            return text
        }
        return t
    }

    public init(recipe: Recipe, recipeDirectory: String) throws {
        self.recipe = recipe
        self.tokenizer = try Self.loadTokenizer(recipe)
        if let source = try Self.chatTemplateSource(recipe, tokenizer: tokenizer, recipeDirectory: recipeDirectory) {
            var special: [String: String] = [:]
            let eos = recipe.tokenizer.chatTemplate == "chatml" ? ChatML.eos : tokenizer.eosToken
            let bos = recipe.tokenizer.chatTemplate == "chatml" ? ChatML.bos : tokenizer.bosToken
            if let bos { special["bos_token"] = bos }
            if let eos { special["eos_token"] = eos }
            if let pad = tokenizer.padToken { special["pad_token"] = pad }
            self.chat = try ChatFormat(source: source, specialTokens: special)
        }
    }

    /// Reads the recipe's local train sources.
    public func loadRows(_ sources: [Recipe.Source]) throws -> LoadedRows {
        var all = LoadedRows()
        for s in sources {
            let local = FileManager.default.fileExists(atPath: s.path) || s.path.contains("*") || s.path.hasPrefix("./") || s.path.hasPrefix("/")
            guard local else {
                throw Failure(description: "data: \(s.path) is not a local file or folder; reading Hub datasets is not available in this build yet — download it with `sftrun download \(s.path) --repo-type dataset` and point data.train.path at the files")
            }
            let type = s.type == "auto" ? nil : LocalFileType(rawValue: s.type)
            let part = try LocalSource(type: type, field: s.field, skipBadRows: recipe.data.onBadRow == "skip").load(s.path)
            all.rows += part.rows
            all.skipped += part.skipped
        }
        return all
    }

    public struct Prepared {
        public var examples: [TokenizedExample]
        public var texts: [String]
        public var skipped: [String]
        public var truncated: Int
        public var format: DatasetFormat
    }

    /// Formats and tokenizes rows with TRL's rules; rows that fail are errors or counted skips (`on_bad_row`).
    public func prepare(_ rows: [Row]) throws -> Prepared {
        guard let first = rows.first else { throw Failure(description: "data: the dataset is empty; check data.train.path and data.train.split") }
        let format = recipe.data.format == "auto"
            ? DatasetFormat.detect(columns: Array(first.columns.keys), textField: recipe.data.datasetTextField)
            : DatasetFormat(rawValue: recipe.data.format)!
        let template = try recipe.data.template.map { try FieldTemplate($0) }
        let formatter = ExampleFormatter(format: format, textField: recipe.data.datasetTextField, template: template)
        let chat = self.chat
        var responseText: String?
        if case .text(let t)? = recipe.data.responseTemplate { responseText = t }
        var instructionText: String?
        if case .text(let t)? = recipe.data.instructionTemplate { instructionText = t }
        let untruncated = ExampleTokenizer(encoder: tokenizer, maxLength: nil, addEOS: recipe.data.addEOS,
                                           completionOnlyLoss: recipe.data.completionOnlyLoss ?? true,
                                           assistantOnlyLoss: recipe.data.assistantOnlyLoss,
                                           responseTemplate: responseText, instructionTemplate: instructionText,
                                           renderChat: chat.map { c in { @Sendable messages, gen in
                                               gen ? (try c.render(messages, addGenerationPrompt: true), []) : try c.renderWithAssistantSpans(messages)
                                           } })
        // Rows are formatted and tokenized in parallel (chat rendering dominates), then folded in file order.
        enum Outcome { case example(TokenizedExample, truncated: Bool), skipped(String), failed(Error) }
        let maxLength = recipe.data.maxLength, skipBad = recipe.data.onBadRow == "skip"
        let outcomes = UnsafeMutableBufferPointer<Outcome?>.allocate(capacity: rows.count)
        outcomes.initialize(repeating: nil)
        defer { outcomes.deinitialize(); outcomes.deallocate() }
        let tasks = max(1, min(ProcessInfo.processInfo.activeProcessorCount, rows.count / 64))
        let work: (Int) -> Void = { t in
            for i in (rows.count * t / tasks)..<(rows.count * (t + 1) / tasks) {
                let row = rows[i]
                do {
                    let formatted = try formatter.format(row)
                    if case .conversation = formatted, chat == nil {
                        throw Failure(description: "\(row.location): conversational data needs a chat template; set tokenizer.chat_template (e.g. chatml)")
                    }
                    var e = try untruncated.tokenize(formatted)
                    var cut = false
                    if let m = maxLength, e.inputIDs.count > m {
                        cut = true
                        e = TokenizedExample(inputIDs: Array(e.inputIDs.prefix(m)), labels: Array(e.labels.prefix(m)))
                    }
                    outcomes[i] = e.hasLoss ? .example(e, truncated: cut) : .skipped("\(row.location): no token carries loss after truncation")
                } catch let e as ExampleTokenizer.TemplateNotFound {
                    outcomes[i] = .skipped("\(row.location): response template \(JSON.quote(e.template)) not found")
                } catch {
                    outcomes[i] = skipBad ? .skipped("\(error)") : .failed(error)
                }
            }
        }
        if tasks == 1 { work(0) } else { withoutActuallyEscaping(work) { w in
            let box = UncheckedSendable(w)
            DispatchQueue.concurrentPerform(iterations: tasks) { box.value($0) }
        } }
        var out = Prepared(examples: [], texts: [], skipped: [], truncated: 0, format: format)
        for o in outcomes {
            switch o {
            case .example(let e, let cut)?:
                if cut { out.truncated += 1 }
                out.examples.append(e)
            case .skipped(let s)?: out.skipped.append(s)
            case .failed(let e)?: throw e
            case nil: break
            }
        }
        return out
    }
}

/// Hands a closure to Dispatch; the preparation tasks write disjoint slots.
private struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
