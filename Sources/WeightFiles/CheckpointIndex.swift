import Foundation
import Values

/// A sharded checkpoint (`model.safetensors.index.json`): opens every shard and checks each tensor is where the
/// index's `weight_map` says, so a partial download fails at load rather than mid-training.
public final class CheckpointIndex: @unchecked Sendable {
    public static let fileName = "model.safetensors.index.json"
    public let directory: URL
    public let weightMap: [String: String]
    public let totalSize: Int?
    public let shards: [String: SafeTensorsFile]

    public init(directory: URL) throws {
        self.directory = directory
        let path = directory.appendingPathComponent(Self.fileName).path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WeightFileError(file: path, "cannot read the index; check the checkpoint folder is complete")
        }
        let v: Value
        do { v = try JSON.parse(bytes: [UInt8](data)) } catch { throw WeightFileError(file: path, "index is not valid JSON (\(error)); download it again") }
        guard let wm = v["weight_map"]?.objectValue else { throw WeightFileError(file: path, "index has no weight_map object; download it again") }
        var map: [String: String] = [:]
        for (k, s) in wm {
            guard let f = s.stringValue else { throw WeightFileError(file: path, "weight_map entry \"\(k)\" is not a file name; download the index again") }
            map[k] = f
        }
        weightMap = map
        totalSize = v["metadata"]?["total_size"]?.intValue
        var opened: [String: SafeTensorsFile] = [:]
        for f in Set(map.values).sorted() {
            let url = directory.appendingPathComponent(f)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw WeightFileError(file: path, "shard \(f) named in weight_map is missing; download the missing shard")
            }
            opened[f] = try SafeTensorsFile(url: url)
        }
        for (k, f) in map.sorted(by: { $0.key < $1.key }) where (try? opened[f]!.info(k)) == nil {
            throw WeightFileError(file: path, "tensor \"\(k)\" is mapped to \(f) but that shard does not hold it; download the checkpoint again")
        }
        shards = opened
    }

    public var names: [String] { weightMap.keys.sorted() }

    public func file(for name: String) throws -> SafeTensorsFile {
        guard let f = weightMap[name], let s = shards[f] else {
            throw WeightFileError(file: directory.appendingPathComponent(Self.fileName).path, "no tensor named \"\(name)\" in weight_map; check the name")
        }
        return s
    }
    public func info(_ name: String) throws -> TensorInfo { try file(for: name).info(name) }
    public func bytes(_ name: String) throws -> UnsafeRawBufferPointer { try file(for: name).bytes(name) }
    public func floats(_ name: String) throws -> [Float] { try file(for: name).floats(name) }
}
