import Values

/// tokenizer.json's `post_processor` reduced to what encoding needs: where special tokens go for one sequence
/// and for a pair (with type ids), whether offsets drop byte-level spaces, and RoBERTa's all-zero type ids.
struct PostProcessor {
    /// One item of a template: a sequence (`$A`/`$B`) or special-token ids, each with its type id.
    enum Piece: Equatable { case sequence(pair: Bool, typeId: Int), special(ids: [Int], typeId: Int) }

    var single: [Piece]? = nil
    var pair: [Piece]? = nil
    /// ByteLevel / RobertaProcessing `trim_offsets` and the `add_prefix_space` it consults.
    var trimOffsets = false
    var trimAddPrefixSpace = false
    /// RobertaProcessing gives every token type id 0, with or without special tokens.
    var allTypeZero = false

    init() {}

    init(_ v: Value) throws {
        try read(v)
    }

    private mutating func read(_ v: Value) throws {
        let type = v["type"]?.stringValue ?? "?"
        switch type {
        case "ByteLevel":
            if v["trim_offsets"]?.boolValue ?? true { trimOffsets = true; trimAddPrefixSpace = v["add_prefix_space"]?.boolValue ?? true }
        case "TemplateProcessing":
            single = try Self.pieces(v["single"], v, "single")
            pair = try Self.pieces(v["pair"], v, "pair")
        case "Sequence":
            for p in v["processors"]?.arrayValue ?? [] { try read(p) }
        case "BertProcessing", "RobertaProcessing":
            guard let cls = v["cls"]?[1]?.intValue, let sep = v["sep"]?[1]?.intValue else { throw TokenizerError("tokenizer.json: \(type) needs cls and sep as [token, id]; fix the file") }
            let one: [Piece] = [.special(ids: [cls], typeId: 0), .sequence(pair: false, typeId: 0), .special(ids: [sep], typeId: 0)]
            single = one
            if type == "BertProcessing" {
                pair = one + [.sequence(pair: true, typeId: 1), .special(ids: [sep], typeId: 1)]
            } else {
                pair = one + [.special(ids: [sep], typeId: 0), .sequence(pair: true, typeId: 0), .special(ids: [sep], typeId: 0)]
                allTypeZero = true
                if v["trim_offsets"]?.boolValue ?? true { trimOffsets = true; trimAddPrefixSpace = v["add_prefix_space"]?.boolValue ?? true }
            }
        default: throw TokenizerError("tokenizer.json: post_processor type \(type) is not supported (supported: TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence); use a tokenizer with supported components")
        }
    }

    private static func pieces(_ list: Value?, _ v: Value, _ which: String) throws -> [Piece]? {
        guard let items = list?.arrayValue else { return nil }
        var out: [Piece] = []
        for item in items {
            if let s = item["Sequence"] {
                out.append(.sequence(pair: s["id"]?.stringValue == "B", typeId: s["type_id"]?.intValue ?? 0))
            } else if let t = item["SpecialToken"], let name = t["id"]?.stringValue {
                guard let ids = v["special_tokens"]?[name]?["ids"]?.arrayValue else { throw TokenizerError("tokenizer.json: post_processor special token \(name) has no ids; fix the file") }
                out.append(.special(ids: ids.compactMap(\.intValue), typeId: t["type_id"]?.intValue ?? 0))
            } else { throw TokenizerError("tokenizer.json: TemplateProcessing \(which) item is neither Sequence nor SpecialToken; fix the file") }
        }
        return out
    }

    /// Joins the encoded sequences as the template says (HF `post_process`): special tokens only when
    /// `addSpecialTokens`, type ids from the template either way; without a template, A is type 0 and B type 1.
    func process(_ a: Encoding, _ b: Encoding?, addSpecialTokens: Bool) -> Encoding {
        var a = a, b = b
        a.typeIds = Array(repeating: 0, count: a.ids.count)
        let bCount = b?.ids.count ?? 0
        b?.typeIds = Array(repeating: allTypeZero ? 0 : 1, count: bCount)
        guard let template = b == nil ? single : pair else {
            var out = a
            if let b { out.append(b) }
            return out
        }
        var out = Encoding()
        for p in template {
            switch p {
            case .sequence(let isB, let t):
                guard var e = isB ? b : a else { continue }
                e.typeIds = Array(repeating: t, count: e.ids.count)
                out.append(e)
            case .special(let ids, let t):
                guard addSpecialTokens else { continue }
                for id in ids { out.ids.append(id); out.offsets.append(0..<0); out.specialTokensMask.append(true); out.typeIds.append(t) }
            }
        }
        return out
    }
}
