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

    /// Reads the recipe's sources: local files, folders and globs, or Hub dataset ids (`stanfordnlp/imdb`), whose
    /// split files are found as `datasets` finds them and downloaded into the HF cache first. A sliced split
    /// (`train[:1000]`) keeps those rows of each source.
    public func loadRows(_ sources: [Recipe.Source], hub: HubConfiguration = .fromEnvironment()) throws -> LoadedRows {
        var all = LoadedRows()
        for s in sources {
            let slice: SplitSlice
            do { slice = try SplitSlice(s.split) } catch { throw Failure(description: "data: \(error)") }
            let type = s.type == "auto" ? nil : LocalFileType(rawValue: s.type)
            let reader = LocalSource(type: type, field: s.field, skipBadRows: recipe.data.onBadRow == "skip")
            var part = LoadedRows()
            if Self.isHubDatasetID(s.path) {
                let client = HubClient(configuration: hub, progress: StandardProgressReporter())
                let found: DatasetSplitFiles
                do {
                    found = try client.datasetFiles(repo: s.path, split: slice.name, config: s.name, revision: s.revision ?? "main",
                                                    dataFiles: s.dataFiles)
                } catch {
                    throw Failure(description: "data \(s.path): \(error)")
                }
                FileHandle.standardError.write(Data("data: \(s.path) split \(slice.name)\(found.converted ? " (Parquet conversion)" : ""): \(found.repoPaths.joined(separator: ", "))\n".utf8))
                for f in found.files {
                    let rows = try reader.loadFile(f.path)
                    part.rows += rows.rows
                    part.skipped += rows.skipped
                }
            } else {
                part = try reader.load(s.path)
            }
            if !slice.isWhole { part.rows = Array(part.rows[slice.range(count: part.rows.count)]) }
            all.rows += part.rows
            all.skipped += part.skipped
        }
        return all
    }

    /// The files the sources read — local folders and globs expanded, Hub splits resolved (downloaded into the HF
    /// cache if needed) — and the commit each Hub dataset was read at: what recipe.lock.yaml records.
    public func inputFiles(_ sources: [Recipe.Source], hub: HubConfiguration = .fromEnvironment()) throws -> (files: [URL], commits: [String: String]) {
        var files: [URL] = [], commits: [String: String] = [:]
        for s in sources {
            if Self.isHubDatasetID(s.path) {
                let slice: SplitSlice
                do { slice = try SplitSlice(s.split) } catch { throw Failure(description: "data: \(error)") }
                do {
                    let found = try HubClient(configuration: hub, progress: StandardProgressReporter())
                        .datasetFiles(repo: s.path, split: slice.name, config: s.name, revision: s.revision ?? "main", dataFiles: s.dataFiles)
                    files += found.files
                    commits[s.path] = found.commit
                } catch {
                    throw Failure(description: "data \(s.path): \(error)")
                }
            } else {
                files += try LocalSource.expand(s.path).map { URL(fileURLWithPath: $0) }
            }
        }
        return (files, commits)
    }

    /// A path that is no local file, folder or glob and reads as `org/name` (or a bare canonical `name`) is a Hub
    /// dataset id, as `load_dataset(path)` decides; a path ending in a data-file extension stays local so that a
    /// missing file is reported as such.
    static func isHubDatasetID(_ path: String) -> Bool {
        if FileManager.default.fileExists(atPath: path) || path.contains("*") || path.hasPrefix(".") || path.hasPrefix("/") || path.hasPrefix("~") { return false }
        if LocalFileType.detect(path) != nil { return false }
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { return false }
        return parts.allSatisfy { p in
            !p.isEmpty && p.count <= 96 && p.unicodeScalars.allSatisfy { ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || "-_.".unicodeScalars.contains($0) }
        }
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
        let assistantOnly = recipe.data.assistantOnlyLoss
        var responseText: String?
        if case .text(let t)? = recipe.data.responseTemplate { responseText = t }
        var instructionText: String?
        if case .text(let t)? = recipe.data.instructionTemplate { instructionText = t }
        let untruncated = ExampleTokenizer(encoder: tokenizer, maxLength: nil, addEOS: recipe.data.addEOS,
                                           completionOnlyLoss: recipe.data.completionOnlyLoss ?? true,
                                           assistantOnlyLoss: recipe.data.assistantOnlyLoss,
                                           responseTemplate: responseText, instructionTemplate: instructionText,
                                           renderChat: chat.map { c in { @Sendable messages, gen in
                                               // Assistant spans cost prefix renders; only assistant-only loss reads them.
                                               if gen { return (try c.render(messages, addGenerationPrompt: true), []) }
                                               if assistantOnly { return try c.renderWithAssistantSpans(messages) }
                                               return (try c.render(messages), [])
                                           } })
        // Rows are formatted and tokenized in parallel (tokenizing dominates), then folded in file order.
        enum Outcome { case example(TokenizedExample, truncated: Bool), skipped(String), failed(Error) }
        let maxLength = recipe.data.maxLength, skipBad = recipe.data.onBadRow == "skip"
        let outcomes = UnsafeMutableBufferPointer<Outcome?>.allocate(capacity: rows.count)
        outcomes.initialize(repeating: nil)
        defer { outcomes.deinitialize(); outcomes.deallocate() }
        // Chunks of about 64 rows, several per core, so that a run of long conversations does not leave cores idle.
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let tasks = cores == 1 ? 1 : max(1, min(cores * 16, rows.count / 64))
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
