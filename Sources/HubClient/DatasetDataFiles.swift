import Foundation
import Values

/// Which files of a Hub dataset repo make up a split, decided the way `datasets` does for repos without a
/// loading script (`datasets/data_files.py`, `load.py` `HubDatasetModuleFactory`): the README's YAML
/// `configs:` first, then the default file-name patterns, and when neither matches, the Hub's Parquet
/// conversion (`refs/convert/parquet`). Pure functions over repo file listings, so they are testable offline.
public enum DatasetDataFiles {
    /// The outcome for a listing of the main revision.
    public enum Resolution: Equatable, Sendable {
        /// Repo paths of the split's files, in reading order.
        case files([String])
        /// Nothing matched; try the Parquet conversion. `tried` says what was looked for, for the error message.
        case parquetConversion(tried: [String])
    }

    /// One `configs:` entry of the README front matter.
    public struct Config: Equatable, Sendable {
        public var name: String
        public var isDefault: Bool
        /// Split → patterns, in the README's order; empty when the entry gives only `data_dir`.
        public var splits: [(split: String, patterns: [String])]
        public var dataDir: String?

        public static func == (a: Config, b: Config) -> Bool {
            a.name == b.name && a.isDefault == b.isDefault && a.dataDir == b.dataDir
                && a.splits.map(\.split) == b.splits.map(\.split) && a.splits.map(\.patterns) == b.splits.map(\.patterns)
        }
    }

    /// Extensions sftrun's local readers take (`datasets` accepts more, e.g. `.arrow` and archives; those repos
    /// fall through to the Parquet conversion here).
    public static let readableExtensions = ["parquet", "jsonl", "ndjson", "json", "csv", "tsv", "txt"]

    /// `datasets` `FILES_TO_IGNORE`: never data unless a pattern names them exactly.
    static let filesToIgnore: Set<String> = ["README.md", "config.json", "dataset_info.json", "dataset_infos.json",
                                             "dummy_data.zip", "dataset_dict.json"]

    /// `SPLIT_KEYWORDS`: the file and folder names that `datasets` maps to train/validation/test.
    static let splitKeywords: [(split: String, keywords: [String])] = [
        ("train", ["train", "training"]), ("validation", ["validation", "valid", "dev", "val"]),
        ("test", ["test", "testing", "eval", "evaluation"]),
    ]
    static let sep = "[-._ 0-9]"
    /// `KEYWORDS_IN_DIR_NAME_BASE_PATTERNS` and `KEYWORDS_IN_FILENAME_BASE_PATTERNS` (fsspec >= 2023.12 forms).
    static func dirPatterns(_ k: String) -> [String] { ["**/\(k)/**", "**/\(k)\(sep)*/**", "**/*\(sep)\(k)/**", "**/*\(sep)\(k)\(sep)*/**"] }
    static func filePatterns(_ k: String) -> [String] { ["**/\(k)\(sep)*", "**/*\(sep)\(k)\(sep)*"] }
    /// `SPLIT_PATTERN_SHARDED`, checked first: `data/{split}-00000-of-00001.parquet`.
    static let shardedPattern = "data/*-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]*.*"

    // MARK: Glob

    /// fsspec/`glob` matching of a repo path: `*`, `?` and `[...]` stay inside one path segment, a `**` segment
    /// matches any number of segments. Hidden (`.x`) and `__special__` segments match only when the pattern
    /// asks for them, as in `datasets.data_files.resolve_pattern`.
    public static func glob(_ path: String, _ pattern: String) -> Bool {
        let segs = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        let pats = pattern.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        for (i, s) in segs.enumerated() {
            let hidden = s.hasPrefix("."), special = s.hasPrefix("__") && i < segs.count - 1
            if hidden && !pats.contains(where: { $0.hasPrefix(".") }) { return false }
            if special && !pats.contains(where: { $0.hasPrefix("__") }) { return false }
        }
        func match(_ i: Int, _ j: Int) -> Bool {
            if j == pats.count { return i == segs.count }
            if pats[j] == "**" {
                for k in i...segs.count where match(k, j + 1) { return true }
                return false
            }
            guard i < segs.count, FileSelection.fnmatch(segs[i], pats[j]) else { return false }
            return match(i + 1, j + 1)
        }
        return match(0, 0)
    }

    /// The paths that `patterns` select, pattern by pattern (each sorted, as fsspec's glob returns them),
    /// without duplicates; ignored names and, when `readableOnly`, unreadable extensions are left out.
    public static func resolve(_ patterns: [String], in paths: [String], readableOnly: Bool = true) -> [String] {
        var out: [String] = [], seen = Set<String>()
        let sorted = paths.sorted()
        for p in patterns {
            let base = p.split(separator: "/").last.map(String.init) ?? p
            for path in sorted where glob(path, p) && !seen.contains(path) {
                let name = path.split(separator: "/").last.map(String.init) ?? path
                if filesToIgnore.contains(name) && name != base { continue }
                if readableOnly && !isReadable(path) { continue }
                seen.insert(path)
                out.append(path)
            }
        }
        return out
    }

    static func isReadable(_ path: String) -> Bool {
        let name = path.split(separator: "/").last ?? ""
        guard let dot = name.lastIndex(of: ".") else { return false }
        return readableExtensions.contains(name[name.index(after: dot)...].lowercased())
    }

    // MARK: Default patterns

    /// `_get_data_files_patterns`: the splits a repo's file names define, each with its patterns, or nil when
    /// none match. The sharded `data/{split}-NNNNN-of-NNNNN` layout wins; then split names as folders, then in
    /// file names; then everything is `train`.
    public static func defaultSplits(in paths: [String]) -> [(split: String, patterns: [String])]? {
        let shards = resolve([shardedPattern], in: paths)
        if !shards.isEmpty {
            var splits: [String] = []
            for p in shards {
                let name = p.split(separator: "/").last.map(String.init) ?? p
                guard let r = name.range(of: #"-[0-9]{5}-of-[0-9]{5}"#, options: .regularExpression) else { continue }
                let s = String(name[..<r.lowerBound])
                if !splits.contains(s) { splits.append(s) }
            }
            let known = splitKeywords.map(\.split)
            let ordered = known.filter(splits.contains) + splits.filter { !known.contains($0) }.sorted()
            return ordered.map { s in (s, ["data/\(s)-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]*.*"]) }
        }
        for family in [dirPatterns, filePatterns] {
            var found: [(String, [String])] = []
            for (split, keywords) in splitKeywords {
                let patterns = keywords.flatMap(family)
                if !resolve(patterns, in: paths).isEmpty { found.append((split, patterns)) }
            }
            if !found.isEmpty { return found }
        }
        return resolve(["**"], in: paths).isEmpty ? nil : [("train", ["**"])]
    }

    // MARK: README configs

    /// The `configs:` list of a README's YAML front matter (between the first two `---` lines); nil when the
    /// README has no front matter or no `configs`. Throws when the front matter is not YAML.
    public static func readmeConfigs(_ readme: String) throws -> [Config]? {
        var lines = readme.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
        guard lines.first == "---" else { return nil }
        lines.removeFirst()
        guard let end = lines.firstIndex(of: "---") else { return nil }
        let doc = try YAML.parse(lines[..<end].joined(separator: "\n"), file: "README.md")
        guard let entries = doc.value["configs"]?.arrayValue else { return nil }
        return entries.compactMap { e -> Config? in
            guard let name = e["config_name"]?.stringValue else { return nil }
            var splits: [(String, [String])] = []
            func strings(_ v: Value?) -> [String] { v?.stringValue.map { [$0] } ?? (v?.arrayValue ?? []).compactMap(\.stringValue) }
            switch e["data_files"] {
            case .string(let s)?: splits = [("train", [s])]
            case .array(let items)?:
                if items.allSatisfy({ $0.stringValue != nil }) { splits = [("train", items.compactMap(\.stringValue))] }
                else {
                    for item in items {
                        guard let split = item["split"]?.stringValue else { continue }
                        splits.append((split, strings(item["path"])))
                    }
                }
            case .object(let map)?:
                for (split, v) in map { splits.append((split, strings(v))) }
            default: break
            }
            return Config(name: name, isDefault: e["default"]?.boolValue ?? false, splits: splits, dataDir: e["data_dir"]?.stringValue)
        }
    }

    /// `datasets`' choice of config when the user names none: the one marked `default: true`, the only one,
    /// or one called `default`.
    static func defaultConfig(_ configs: [Config]) -> Config? {
        configs.first(where: \.isDefault) ?? (configs.count == 1 ? configs.first : nil) ?? configs.first { $0.name == "default" }
    }

    // MARK: Choosing the files of a split

    /// The files of `split` given the main revision's `paths` and README text: `dataFiles` patterns when given
    /// (as `load_dataset(data_files=)`), else the README config `config` (or the default one), else the
    /// default patterns (only for the `default` config), else `.parquetConversion`.
    public static func select(paths: [String], readme: String?, repo: String, revision: String, config: String?,
                              split: String, dataFiles: [String] = []) throws(HubError) -> Resolution {
        if !dataFiles.isEmpty {
            let files = resolve(dataFiles, in: paths)
            guard !files.isEmpty else { throw .noDataFiles(repo: repo, revision: revision, split: split, tried: ["data_files \(dataFiles.joined(separator: ", "))"]) }
            return .files(files)
        }
        var configs: [Config]? = nil
        if let readme { configs = try? readmeConfigs(readme) }
        if let configs, !configs.isEmpty {
            let chosen: Config
            if let config {
                guard let c = configs.first(where: { $0.name == config }) else {
                    throw .configNotFound(repo: repo, config: config, available: configs.map(\.name))
                }
                chosen = c
            } else {
                guard let c = defaultConfig(configs) else { throw .configNotFound(repo: repo, config: nil, available: configs.map(\.name)) }
                chosen = c
            }
            let prefix = chosen.dataDir.map { $0.hasSuffix("/") ? $0 : $0 + "/" } ?? ""
            var splits = chosen.splits.map { (split: $0.split, patterns: $0.patterns.map { prefix + $0 }) }
            if splits.isEmpty {
                let inside = paths.filter { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)) }
                splits = (defaultSplits(in: inside) ?? []).map { (split: $0.split, patterns: $0.patterns.map { prefix + $0 }) }
            }
            guard let entry = splits.first(where: { $0.split == split }) else {
                throw .splitNotFound(repo: repo, split: split, config: chosen.name, available: splits.map(\.split))
            }
            let files = resolve(entry.patterns, in: paths)
            guard !files.isEmpty else {
                throw .noDataFiles(repo: repo, revision: revision, split: split,
                                   tried: ["README.md config '\(chosen.name)' patterns \(entry.patterns.joined(separator: ", "))"])
            }
            return .files(files)
        }
        let tried = ["README.md configs (none)", "the default patterns of `datasets` (data/{split}-NNNNN-of-NNNNN.*, {split}/**, *{split}*.*, **)"]
        guard config == nil || config == "default", let splits = defaultSplits(in: paths) else { return .parquetConversion(tried: tried) }
        guard let entry = splits.first(where: { $0.split == split }) else {
            throw .splitNotFound(repo: repo, split: split, config: nil, available: splits.map(\.split))
        }
        return .files(resolve(entry.patterns, in: paths))
    }

    /// The Parquet files of `split` in a listing of the `refs/convert/parquet` revision:
    /// `{config}/{split}/NNNN.parquet`, or `{config}/partial-{split}/...` for datasets converted only in part.
    public static func selectConverted(paths: [String], repo: String, config: String?, split: String) throws(HubError) -> [String] {
        var configs: [String] = []
        for p in paths where p.hasSuffix(".parquet") {
            let parts = p.split(separator: "/")
            if parts.count == 3, !configs.contains(String(parts[0])) { configs.append(String(parts[0])) }
        }
        let chosen: String
        if let config {
            guard configs.contains(config) else { throw .configNotFound(repo: repo, config: config, available: configs) }
            chosen = config
        } else {
            guard let c = configs.count == 1 ? configs.first : configs.first(where: { $0 == "default" }) else {
                throw .configNotFound(repo: repo, config: nil, available: configs)
            }
            chosen = c
        }
        var splits: [String] = []
        for p in paths where p.hasPrefix(chosen + "/") && p.hasSuffix(".parquet") {
            let parts = p.split(separator: "/")
            guard parts.count == 3 else { continue }
            let s = parts[1].hasPrefix("partial-") ? String(parts[1].dropFirst("partial-".count)) : String(parts[1])
            if !splits.contains(s) { splits.append(s) }
        }
        guard splits.contains(split) else { throw .splitNotFound(repo: repo, split: split, config: chosen, available: splits) }
        return resolve(["\(chosen)/\(split)/*.parquet", "\(chosen)/partial-\(split)/*.parquet"], in: paths)
    }
}
