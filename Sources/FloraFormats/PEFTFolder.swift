// A PEFT adapter folder: adapter_config.json + adapter_model.safetensors (DESIGN.md section 2).
// Reading checks the files; checking the tensors against a model is the adapter loader's job.

import FloraTensor
import Foundation

/// An opened PEFT adapter folder: its validated config and its (header-checked) tensor file.
public struct PEFTFolder: Sendable {
    public static let configFileName = "adapter_config.json"
    public static let weightsFileName = "adapter_model.safetensors"

    public let path: String
    public let config: PEFTConfig
    public let weights: SafetensorsFile

    public var configPath: String { Self.file(Self.configFileName, in: path) }
    public var weightsPath: String { Self.file(Self.weightsFileName, in: path) }

    /// Opens `path`: reads and validates the config, opens the safetensors file and checks its header.
    public init(path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FormatError(.missing, file: path, expected: "a PEFT adapter folder (adapter_config.json + adapter_model.safetensors)",
                              found: "no such folder")
        }
        self.path = path
        config = try PEFTConfig.read(file: Self.file(Self.configFileName, in: path))
        let weightsPath = Self.file(Self.weightsFileName, in: path)
        guard FileManager.default.fileExists(atPath: weightsPath) else {
            let pickle = FileManager.default.fileExists(atPath: Self.file("adapter_model.bin", in: path))
            throw FormatError(.missing, file: weightsPath, expected: "the adapter's tensors in safetensors format",
                              found: pickle ? "no such file, only adapter_model.bin (PyTorch pickle, which Flora does not read)" : "no such file")
        }
        weights = try SafetensorsFile(path: weightsPath)
    }

    /// Writes a folder PEFT can load: `config` as JSON and `tensors` as fp32 safetensors with
    /// PEFT's `{"format": "pt"}` metadata. Creates the folder if needed; replaces both files.
    public static func write(config: PEFTConfig, tensors: [(name: String, tensor: Tensor)], to path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        } catch {
            throw FormatError(.io, file: path, expected: "a folder Flora can create or write", found: "\(error.localizedDescription)")
        }
        let configPath = file(configFileName, in: path)
        let json: Data
        do {
            json = try config.jsonData()
        } catch {
            throw FormatError(.invalidValue, file: configPath, expected: "a config that encodes as JSON", found: "\(error.localizedDescription)")
        }
        try DurableFile.write(json, to: configPath)
        try SafetensorsWriter.write(tensors: tensors, metadata: ["format": "pt"], dtype: .f32, to: file(weightsFileName, in: path))
    }

    static func file(_ name: String, in folder: String) -> String {
        URL(fileURLWithPath: folder).appendingPathComponent(name).path
    }
}
