// Building PEFT adapter folders byte by byte for the loader tests, valid and malformed.

import FloraAdapters
import FloraFormats
import FloraTensor
import FloraTestSupport
import Foundation

/// The reference adapters (Tests/Fixtures/golden/adapters).
let goldenAdapters: String = TestFiles.goldenDirectory + "/adapters"

/// A fresh empty folder under the temporary directory.
func temporaryFolder(_ label: String = "adapter") throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("flora-tests-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}

/// One tensor of a handmade safetensors file.
struct RawTensor {
    var name: String
    var dtype: String = "F32"
    var shape: [Int]
    var bytes: [UInt8]

    init(_ name: String, shape: [Int], values: [Float]) {
        self.name = name
        self.shape = shape
        bytes = values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
    }

    init(_ name: String, dtype: String, shape: [Int], bytes: [UInt8]) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }
}

/// A safetensors file as bytes: header length, JSON header, data in the given order.
func safetensorsBytes(_ tensors: [RawTensor]) -> [UInt8] {
    var entries: [String] = []
    var data: [UInt8] = []
    for t in tensors {
        entries.append("\"\(t.name)\":{\"dtype\":\"\(t.dtype)\",\"shape\":\(t.shape),\"data_offsets\":[\(data.count),\(data.count + t.bytes.count)]}")
        data += t.bytes
    }
    var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
    while header.count % 8 != 0 { header.append(0x20) }
    return withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header + data
}

/// Writes a folder from a config JSON text and tensors (either may be left out).
func writeFolder(config: String?, tensors: [RawTensor]?, in folder: String? = nil) throws -> String {
    let path = try folder ?? temporaryFolder()
    if let config {
        try Data(config.utf8).write(to: URL(fileURLWithPath: path).appendingPathComponent("adapter_config.json"))
    }
    if let tensors {
        try Data(safetensorsBytes(tensors)).write(to: URL(fileURLWithPath: path).appendingPathComponent("adapter_model.safetensors"))
    }
    return path
}

/// The tensors `AdapterWriter` would write for `weights`, as raw tensors to tamper with.
func rawTensors(of weights: AdapterWeights) -> [RawTensor] {
    AdapterWriter.tensors(for: weights).map { RawTensor($0.name, shape: $0.tensor.shape, values: $0.tensor.toArray()) }
}

/// A LoRA config JSON for the tiny test model; `extra` adds keys (", \"key\": value").
func loraConfig(r: Int = 2, targets: String = "[\"q_proj\", \"v_proj\"]", extra: String = "") -> String {
    """
    {"peft_type": "LORA", "r": \(r), "lora_alpha": 4, "target_modules": \(targets)\(extra)}
    """
}

/// A valid tiny LoRA adapter (rank 2 on q_proj and v_proj) and its tensors.
func validTinyLoRA() throws -> (config: String, tensors: [RawTensor]) {
    let weights = try AdapterWeights.initialized(
        kind: .lora, rank: 2, targets: [.qProj, .vProj], shapes: try tinyShapes(), seed: 3, random: true, alpha: 4)
    let peftDefaults = #", "bias": "none", "fan_in_fan_out": false, "use_dora": false, "modules_to_save": null"#
    return (loraConfig(extra: peftDefaults), rawTensors(of: weights))
}

/// The loader's error for `folder` against the tiny model, or nil if it loads.
func loadError(_ folder: String, shapes: AdapterTargetShapes? = nil) -> FormatError? {
    do {
        _ = try AdapterLoader.load(folder: folder, name: "test", shapes: shapes ?? tinyShapes())
        return nil
    } catch let error as FormatError {
        return error
    } catch {
        return FormatError(.io, file: "unexpected error type", expected: "FormatError", found: "\(type(of: error)): \(error)")
    }
}
