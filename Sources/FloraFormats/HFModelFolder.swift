// A Hugging Face model folder: config.json, the weights as model.safetensors, as shards listed by
// model.safetensors.index.json ({"weight_map": {tensor: shard file}}), or as all *.safetensors
// files, and the tokenizer files when present.
import FloraTensor
import Foundation

public final class HFModelFolder: Sendable {
    public let path: String
    public let config: HFConfig
    public let configPath: String
    /// `tokenizer.json`, when the folder has one.
    public let tokenizerPath: String?
    /// `tokenizer_config.json`, when the folder has one.
    public let tokenizerConfigPath: String?
    /// The safetensors files holding the weights, in the order they were opened.
    public let weightPaths: [String]
    /// All tensor names, sorted.
    public let tensorNames: [String]
    private let shards: [SafetensorsFile]
    private let shardOfTensor: [String: Int]

    public init(path: String) throws {
        self.path = path
        let manager = FileManager.default
        var isDirectory: ObjCBool = false
        guard manager.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FormatError(.missing, file: path, expected: "a Hugging Face model folder", found: "no such directory")
        }
        func file(_ name: String) -> String? {
            let candidate = path + "/" + name
            return manager.fileExists(atPath: candidate) ? candidate : nil
        }
        guard let configPath = file("config.json") else {
            throw FormatError(.missing, file: path + "/config.json", expected: "the model's config.json", found: "no such file")
        }
        self.configPath = configPath
        config = try HFConfig.load(path: configPath)
        tokenizerPath = file("tokenizer.json")
        tokenizerConfigPath = file("tokenizer_config.json")

        var shardNames: [String]
        var indexMap: [String: String]?
        if let indexPath = file("model.safetensors.index.json") {
            let map = try Self.weightMap(indexPath: indexPath)
            indexMap = map
            shardNames = Array(Set(map.values)).sorted()
        } else if file("model.safetensors") != nil {
            shardNames = ["model.safetensors"]
        } else {
            let contents = (try? manager.contentsOfDirectory(atPath: path)) ?? []
            shardNames = contents.filter { $0.hasSuffix(".safetensors") }.sorted()
        }
        if shardNames.isEmpty {
            throw FormatError(.missing, file: path, item: "weights",
                              expected: "model.safetensors, model.safetensors.index.json or *.safetensors files", found: "none")
        }
        var shards: [SafetensorsFile] = []
        var shardOfTensor: [String: Int] = [:]
        for (index, name) in shardNames.enumerated() {
            let shard = try SafetensorsFile(path: path + "/" + name)
            shards.append(shard)
            for tensor in shard.tensorNames {
                if let indexMap {
                    // The index decides; tensors it does not list are not part of the model.
                    if indexMap[tensor] == name { shardOfTensor[tensor] = index }
                } else if let other = shardOfTensor[tensor] {
                    throw FormatError(.invalidValue, file: shard.path, item: tensor,
                                      expected: "each tensor in one file", found: "it also in \(shards[other].path)")
                } else {
                    shardOfTensor[tensor] = index
                }
            }
        }
        if let indexMap {
            for (tensor, shard) in indexMap where shardOfTensor[tensor] == nil {
                throw FormatError(.missing, file: path + "/" + shard, item: tensor,
                                  expected: "the tensor that model.safetensors.index.json places in this file", found: "no such tensor")
            }
        }
        self.shards = shards
        self.shardOfTensor = shardOfTensor
        weightPaths = shards.map(\.path)
        tensorNames = shardOfTensor.keys.sorted()
    }

    /// The shard map of an index file; shard names must be plain file names inside the folder.
    private static func weightMap(indexPath: String) throws -> [String: String] {
        struct Index: Decodable { let weight_map: [String: String] }
        let index: Index
        do {
            index = try JSONDecoder().decode(Index.self, from: Data(contentsOf: URL(fileURLWithPath: indexPath)))
        } catch let error as DecodingError {
            throw FormatError(.invalidValue, file: indexPath, item: "weight_map",
                              expected: "{\"weight_map\": {tensor name: shard file name}}", found: JSONKey.describe(error).found)
        } catch {
            throw FormatError(.io, file: indexPath, expected: "a readable index file", found: "\(error.localizedDescription)")
        }
        for (tensor, shard) in index.weight_map where shard.contains("/") || shard.hasPrefix(".") || shard.isEmpty {
            throw FormatError(.invalidValue, file: indexPath, item: tensor,
                              expected: "a shard file name inside the model folder", found: "\"\(shard)\"")
        }
        return index.weight_map
    }

    public func info(_ name: String) throws -> SafetensorsTensorInfo {
        try shards[try shardIndex(name)].info(name)
    }

    /// Rows of the 2-D tensor `name` converted to fp32 (`SafetensorsFile.convertRows`).
    public func convertRows(of name: String, _ rows: Range<Int>, into destination: UnsafeMutablePointer<Float>) throws {
        try shards[try shardIndex(name)].convertRows(of: name, rows, into: destination)
    }

    /// The tensor `name` converted to fp32, from whichever shard holds it.
    public func tensor(_ name: String) throws -> Tensor {
        try shards[try shardIndex(name)].tensor(name)
    }

    private func shardIndex(_ name: String) throws -> Int {
        guard let index = shardOfTensor[name] else {
            throw FormatError(.missing, file: path, item: name, expected: "a tensor with this name",
                              found: "none among the folder's \(tensorNames.count) tensors")
        }
        return index
    }
}
