import Values

/// Rewrites legacy key names and values in recipe text to the current ones, editing only the affected lines so
/// comments and layout survive.
public enum Migration {
    public struct Result: Sendable {
        public var text: String
        public var changes: [String]
    }

    public static func migrate(text: String, file: String) throws -> Result {
        let doc = try YAML.parse(text, file: file)
        var lines = text.components(separatedBy: "\n")
        var changes: [String] = []
        var removals: Set<Int> = []
        var inserts: [(afterLine: Int, text: String)] = []
        var appended: [String] = []
        var written: Set<ValuePath> = []

        func tokenRange(_ m: SourceMark) -> (line: Int, start: String.Index, end: String.Index)? {
            let line = lines[m.line - 1]
            let utf8 = Array(line.utf8)
            let startCol = m.column - 1
            let length = m.endOffset - m.startOffset
            guard startCol >= 0, startCol + length <= utf8.count else { return nil }
            let start = line.utf8.index(line.utf8.startIndex, offsetBy: startCol)
            let end = line.utf8.index(start, offsetBy: length)
            return (m.line - 1, start, end)
        }
        func replace(_ m: SourceMark, with new: String) {
            guard let r = tokenRange(m) else { return }
            lines[r.line].replaceSubrange(r.start..<r.end, with: new)
        }

        for legacy in LegacyName.all {
            guard let old = doc.value.value(at: legacy.old), let keyMark = doc.keyMarks[legacy.old],
                  case .key(let newKey) = legacy.new.last! else { continue }
            if doc.value.value(at: legacy.new) != nil || written.contains(legacy.new) {
                changes.append("\(keyMark.location): \(legacy.old.dotted) left as is: \(legacy.new.dotted) is set too; remove one by hand")
                continue
            }
            var newValue = old
            if !legacy.valueMap.isEmpty { guard let mapped = legacy.valueMap[old] else { continue }; newValue = mapped }
            let valueMark = doc.marks[legacy.old]
            written.insert(legacy.new)
            if legacy.old.dropLast() == legacy.new.dropLast() {
                // Same section: edit the value first (it is to the right of the key on the same line).
                if newValue != old, let vm = valueMark { replace(vm, with: YAMLWriter.scalar(newValue)) }
                replace(keyMark, with: newKey)
            } else {
                removals.insert(keyMark.line - 1)
                let section = Array(legacy.new.dropLast())
                if let sectionMark = doc.keyMarks[section], let members = doc.value.value(at: section)?.objectValue,
                   let firstKey = members.keys.first, let firstMark = doc.keyMarks[section + [.key(firstKey)]] {
                    let pad = String(repeating: " ", count: firstMark.column - 1)
                    inserts.append((sectionMark.line - 1, "\(pad)\(newKey): \(YAMLWriter.scalar(newValue))"))
                } else {
                    appended.append("\(section.dotted):\n  \(newKey): \(YAMLWriter.scalar(newValue))")
                }
            }
            changes.append("\(keyMark.location): \(legacy.old.dotted) → \(legacy.new.dotted)\(newValue == old ? "" : ": \(YAMLWriter.scalar(newValue))")")
        }
        for rename in LegacyName.values where doc.value.value(at: rename.path) == rename.old {
            if let vm = doc.marks[rename.path] {
                replace(vm, with: YAMLWriter.scalar(rename.new))
                changes.append("\(vm.location): \(rename.path.dotted): \(YAMLWriter.scalar(rename.old)) → \(YAMLWriter.scalar(rename.new))")
            }
        }
        var out: [String] = []
        for (i, line) in lines.enumerated() {
            if !removals.contains(i) { out.append(line) }
            for ins in inserts where ins.afterLine == i { out.append(ins.text) }
        }
        var result = out.joined(separator: "\n")
        if !appended.isEmpty {
            if !result.hasSuffix("\n") { result += "\n" }
            result += appended.joined(separator: "\n") + "\n"
        }
        return Result(text: result, changes: changes)
    }
}
