#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Values

/// Writes safetensors files byte-identical to the Python `safetensors` library: tensors ordered by dtype
/// (widest first, the library's enum order) then name, compact JSON header padded with spaces to 8 bytes.
public enum SafeTensorsWriter {
    /// The exact bytes of a safetensors file for these tensors.
    public static func serialize(_ tensors: [TensorData], metadata: [String: String]? = ["format": "pt"]) throws -> [UInt8] {
        var seen = Set<String>()
        for t in tensors {
            guard seen.insert(t.name).inserted else { throw WeightFileError(file: "<writer>", "tensor \"\(t.name)\" given twice; pass each name once") }
            let need = t.shape.reduce(1, *) * t.dtype.size
            guard t.bytes.count == need else {
                throw WeightFileError(file: "<writer>", "tensor \"\(t.name)\" has \(t.bytes.count) bytes but shape \(t.shape) of \(t.dtype.rawValue) needs \(need); fix the data")
            }
        }
        let ordered = tensors.sorted { a, b in a.dtype.rank != b.dtype.rank ? a.dtype.rank > b.dtype.rank : a.name < b.name }
        var parts: [String] = []
        if let metadata {
            let m = metadata.keys.sorted().map { "\(JSON.quote($0)):\(JSON.quote(metadata[$0]!))" }
            parts.append("\"__metadata__\":{\(m.joined(separator: ","))}")
        }
        var offset = 0
        for t in ordered {
            let shape = t.shape.map(String.init).joined(separator: ",")
            parts.append("\(JSON.quote(t.name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + t.bytes.count)]}")
            offset += t.bytes.count
        }
        var json = Array("{\(parts.joined(separator: ","))}".utf8)
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var out: [UInt8] = []
        out.reserveCapacity(8 + json.count + offset)
        var n = UInt64(json.count)
        for _ in 0..<8 { out.append(UInt8(n & 0xFF)); n >>= 8 }
        out += json
        for t in ordered { out += t.bytes }
        return out
    }

    /// Writes atomically: a temp file in the same folder, fsync, rename, fsync the folder — a crash never leaves half a file.
    public static func write(_ tensors: [TensorData], metadata: [String: String]? = ["format": "pt"], to url: URL) throws {
        try atomicWrite(try serialize(tensors, metadata: metadata), to: url)
    }

    /// Splits into shards of at most `maxShardBytes` (a single larger tensor gets its own shard), named
    /// `model-00001-of-00002.safetensors`, plus `model.safetensors.index.json` as transformers 5 writes it
    /// (`json.dumps(index, indent=2, sort_keys=True) + "\\n"`, metadata `total_parameters` and `total_size`).
    /// A checkpoint that fits in one shard is written as `model.safetensors` with no index. Returns the file names written.
    @discardableResult
    public static func writeSharded(_ tensors: [TensorData], maxShardBytes: Int, to directory: URL) throws -> [String] {
        // huggingface_hub's split_state_dict_into_shards_factory: an oversized tensor is emitted as its own shard at once,
        // while the shard being filled stays open and is emitted later.
        var shards: [[TensorData]] = []
        var current: [TensorData] = []
        var currentSize = 0
        for t in tensors {
            if t.bytes.count > maxShardBytes { shards.append([t]); continue }
            if currentSize + t.bytes.count > maxShardBytes { shards.append(current); current = []; currentSize = 0 }
            current.append(t); currentSize += t.bytes.count
        }
        if !current.isEmpty || shards.isEmpty { shards.append(current) }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if shards.count == 1 {
            try write(tensors, to: directory.appendingPathComponent("model.safetensors"))
            return ["model.safetensors"]
        }
        var names: [String] = []
        var weightMap: [String: String] = [:]
        for (i, s) in shards.enumerated() {
            let name = String(format: "model-%05d-of-%05d.safetensors", i + 1, shards.count)
            try write(s, to: directory.appendingPathComponent(name))
            names.append(name)
            for t in s { weightMap[t.name] = name }
        }
        let total = tensors.reduce(0) { $0 + $1.bytes.count }
        let entries = weightMap.keys.sorted().map { "    \(JSON.quote($0)): \(JSON.quote(weightMap[$0]!))" }
        let parameters = tensors.reduce(0) { $0 + $1.shape.reduce(1, *) }
        let index = "{\n  \"metadata\": {\n    \"total_parameters\": \(parameters),\n    \"total_size\": \(total)\n  },\n  \"weight_map\": {\n\(entries.joined(separator: ",\n"))\n  }\n}\n"
        try atomicWrite(Array(index.utf8), to: directory.appendingPathComponent(CheckpointIndex.fileName))
        names.append(CheckpointIndex.fileName)
        return names
    }

    static func atomicWrite(_ bytes: [UInt8], to url: URL) throws {
        do { try AtomicFile.write(bytes, to: url.path) } catch let e as AtomicFile.WriteError {
            throw WeightFileError(file: url.path, "\(e.reason); check the folder exists, is writable and has space")
        }
    }
}
