// Malformed adapter folders are refused with an error naming the file, the tensor or key, what
// was expected and what was found (DESIGN.md section 2), and a refused load changes no bank.

import FloraAdapters
import FloraFormats
import FloraTensor
import Foundation
import Testing

/// A way to break a valid tiny LoRA folder, and what the error must say.
struct Malformation: Sendable, CustomTestStringConvertible {
    let label: String
    /// Builds the broken folder.
    let make: @Sendable () throws -> String
    let kind: FormatError.Kind
    /// The file name the error must name.
    let file: String
    /// The tensor or key the error must name: "" for any tensor, nil for the file as a whole.
    let item: String?
    /// Text the message must contain.
    let mentions: [String]
    /// Layers of the tiny model it is loaded against.
    var layers = 2
    var testDescription: String { label }
}

private let q0A = "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"
private let q0B = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"

/// The valid folder with `change` applied to its tensors (and optionally another config).
private func broken(config: String? = nil, _ change: (inout [RawTensor]) -> Void = { _ in }) throws -> String {
    let (valid, tensors) = try validTinyLoRA()
    var changed = tensors
    change(&changed)
    return try writeFolder(config: config ?? valid, tensors: changed)
}

private func replace(_ name: String, in tensors: inout [RawTensor], with tensor: RawTensor) {
    tensors[tensors.firstIndex { $0.name == name }!] = tensor
}

private let malformations: [Malformation] = [
    Malformation(label: "missing folder", make: { "/nonexistent/flora/adapter" }, kind: .missing,
                 file: "adapter", item: nil, mentions: ["no such folder"]),
    Malformation(label: "missing config", make: { try writeFolder(config: nil, tensors: validTinyLoRA().tensors) }, kind: .missing,
                 file: "adapter_config.json", item: nil, mentions: ["no such file"]),
    Malformation(label: "invalid JSON", make: { try broken(config: "{\"peft_type\": \"LORA\", ") }, kind: .invalidValue,
                 file: "adapter_config.json", item: nil, mentions: ["JSON"]),
    Malformation(label: "unknown peft_type", make: { try broken(config: #"{"peft_type": "LOHA", "target_modules": ["q_proj"]}"#) },
                 kind: .invalidValue, file: "adapter_config.json", item: "peft_type", mentions: ["LORA, IA3, FLORA or ROAD", "LOHA"]),
    Malformation(label: "r of the wrong JSON type", make: { try broken(config: #"{"peft_type": "LORA", "r": "two", "target_modules": ["q_proj"]}"#) },
                 kind: .typeMismatch, file: "adapter_config.json", item: "r", mentions: ["Int"]),
    Malformation(label: "fan_in_fan_out true", make: { try broken(config: loraConfig(extra: #", "fan_in_fan_out": true"#)) },
                 kind: .invalidValue, file: "adapter_config.json", item: "fan_in_fan_out", mentions: ["false", "true"]),
    Malformation(label: "DoRA config without magnitude vectors", make: { try broken(config: loraConfig(extra: #", "use_dora": true"#)) },
                 kind: .missing, file: "adapter_model.safetensors", item: "", mentions: ["lora_magnitude_vector"]),
    Malformation(label: "trained biases", make: { try broken(config: loraConfig(extra: #", "bias": "all""#)) },
                 kind: .invalidValue, file: "adapter_config.json", item: "bias", mentions: ["none", "all"]),
    Malformation(label: "modules_to_save", make: { try broken(config: loraConfig(extra: #", "modules_to_save": ["score"]"#)) },
                 kind: .invalidValue, file: "adapter_config.json", item: "modules_to_save", mentions: ["score"]),
    Malformation(label: "unknown module in target_modules", make: { try broken(config: loraConfig(targets: #"["q_proj", "v_proj", "lm_head"]"#)) },
                 kind: .invalidValue, file: "adapter_config.json", item: "target_modules", mentions: ["lm_head", "q_proj"]),
    Malformation(label: "layers_to_transform beyond the model",
                 make: { try broken(config: loraConfig(extra: #", "layers_to_transform": [0, 7]"#)) },
                 kind: .invalidValue, file: "adapter_config.json", item: "layers_to_transform", mentions: ["2 layers", "7"]),
    Malformation(label: "IA3 feed-forward module outside the targets", make: {
        try broken(config: #"{"peft_type": "IA3", "target_modules": ["k_proj"], "feedforward_modules": ["down_proj"]}"#)
    }, kind: .invalidValue, file: "adapter_config.json", item: "feedforward_modules", mentions: ["subset", "down_proj"]),
    Malformation(label: "invalid regular expression", make: { try broken(config: loraConfig(targets: #""q_proj(""#)) },
                 kind: .invalidValue, file: "adapter_config.json", item: "target_modules", mentions: ["regular expression"]),
    Malformation(label: "missing safetensors", make: { try writeFolder(config: loraConfig(), tensors: nil) }, kind: .missing,
                 file: "adapter_model.safetensors", item: nil, mentions: ["no such file"]),
    Malformation(label: "truncated safetensors", make: {
        let folder = try broken()
        let url = URL(fileURLWithPath: folder).appendingPathComponent("adapter_model.safetensors")
        let bytes = try Data(contentsOf: url)
        try bytes.prefix(bytes.count - 10).write(to: url)
        return folder
    }, kind: .truncated, file: "adapter_model.safetensors", item: nil, mentions: ["truncated, or still being written"]),
    Malformation(label: "wrong shape", make: { try broken { replace(q0A, in: &$0, with: RawTensor(q0A, shape: [2, 39], values: .init(repeating: 1, count: 78))) } },
                 kind: .invalidValue, file: "adapter_model.safetensors", item: q0A, mentions: ["[2, 40]", "[2, 39]"]),
    Malformation(label: "rank other than the config's", make: { try broken(config: loraConfig(r: 4)) },
                 kind: .invalidValue, file: "adapter_model.safetensors", item: "", mentions: ["[4, 40]", "[2, 40]", "rank 4"]),
    Malformation(label: "unknown module tensor", make: { try broken {
        $0.append(RawTensor("base_model.model.model.layers.0.self_attn.qkv_proj.lora_A.weight", shape: [2, 40], values: .init(repeating: 0, count: 80)))
    } }, kind: .invalidValue, file: "adapter_model.safetensors", item: "base_model.model.model.layers.0.self_attn.qkv_proj.lora_A.weight",
                 mentions: ["qkv_proj", "q_proj"]),
    Malformation(label: "layer index out of range", make: { try broken {
        $0.append(RawTensor("base_model.model.model.layers.5.self_attn.q_proj.lora_A.weight", shape: [2, 40], values: .init(repeating: 0, count: 80)))
    } }, kind: .invalidValue, file: "adapter_model.safetensors", item: "base_model.model.model.layers.5.self_attn.q_proj.lora_A.weight",
                 mentions: ["2 layers", "layer 5"]),
    Malformation(label: "NaN value", make: { try broken { replace(q0B, in: &$0, with: RawTensor(q0B, shape: [40, 2], values: [.nan] + .init(repeating: 1, count: 79))) } },
                 kind: .invalidValue, file: "adapter_model.safetensors", item: q0B, mentions: ["finite", "nan"]),
    Malformation(label: "infinite value", make: { try broken { replace(q0A, in: &$0, with: RawTensor(q0A, shape: [2, 40], values: .init(repeating: 1, count: 79) + [-.infinity])) } },
                 kind: .invalidValue, file: "adapter_model.safetensors", item: q0A, mentions: ["finite", "inf"]),
    Malformation(label: "missing tensor", make: { try broken { $0.removeAll { $0.name == q0B } } },
                 kind: .missing, file: "adapter_model.safetensors", item: q0B, mentions: ["[40, 2]", "no such tensor"]),
    Malformation(label: "unexpected tensor", make: { try broken { $0.append(RawTensor("lm_head.weight", shape: [1], values: [0])) } },
                 kind: .invalidValue, file: "adapter_model.safetensors", item: "lm_head.weight", mentions: ["unexpected"]),
    Malformation(label: "tensor of a module the config does not target", make: { try broken {
        $0.append(RawTensor("base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight", shape: [2, 40], values: .init(repeating: 0, count: 80)))
    } }, kind: .invalidValue, file: "adapter_model.safetensors", item: "base_model.model.model.layers.0.self_attn.k_proj.lora_A.weight",
                 mentions: ["does not target"]),
    Malformation(label: "tensor of another adapter kind", make: { try broken {
        $0.append(RawTensor("base_model.model.model.layers.0.self_attn.q_proj.flora_A.weight", shape: [2, 40], values: .init(repeating: 0, count: 80)))
    } }, kind: .invalidValue, file: "adapter_model.safetensors", item: "base_model.model.model.layers.0.self_attn.q_proj.flora_A.weight",
                 mentions: ["flora_A", "lora"]),
    Malformation(label: "integer dtype", make: { try broken { replace(q0A, in: &$0, with: RawTensor(q0A, dtype: "I32", shape: [2, 40], bytes: .init(repeating: 0, count: 320))) } },
                 kind: .unsupportedType, file: "adapter_model.safetensors", item: q0A, mentions: ["F32, F16 or BF16", "I32"]),
    Malformation(label: "adapter for a model with fewer layers", make: { URL(fileURLWithPath: goldenAdapters).appendingPathComponent("lora_r8").path },
                 kind: .invalidValue, file: "adapter_model.safetensors", item: "", mentions: ["below the model's 2 layers", "found layer"]),
    Malformation(label: "adapter for a model of other widths", make: { URL(fileURLWithPath: goldenAdapters).appendingPathComponent("lora_r8").path },
                 kind: .invalidValue, file: "adapter_model.safetensors", item: "", mentions: ["expected shape [8, 40]", "found shape [8, 576]"],
                 layers: 30),
]

@Test("Malformed adapter folders are refused with an error naming file, item, expected and found", arguments: malformations)
func malformedFolderRefused(case malformation: Malformation) throws {
    let folder = try malformation.make()
    let error = try #require(loadError(folder, shapes: tinyShapes(layers: malformation.layers)), "the folder loaded")
    #expect(error.kind == malformation.kind, "\(error)")
    #expect(error.file.hasSuffix(malformation.file), "\(error)")
    switch malformation.item {
    case nil: break
    case "": #expect(error.item?.hasPrefix("base_model.model.model.layers.") == true, "\(error)")
    case let item?: #expect(error.item == item, "\(error)")
    }
    let message = error.description
    #expect(message.contains("expected") && message.contains("found"))
    for text in malformation.mentions { #expect(message.contains(text), "'\(text)' not in: \(message)") }
    // Only scratch folders go: a checkout may itself live under the temporary directory.
    if URL(fileURLWithPath: folder).lastPathComponent.hasPrefix("flora-tests-") { try? FileManager.default.removeItem(atPath: folder) }
}

@Test("A refused adapter leaves the bank exactly as it was")
func refusedLoadLeavesBankUnchanged() throws {
    let shapes = try tinyShapes()
    let bank = try AdapterBank(capacity: 2, shapes: shapes)
    let kept = try AdapterWeights.initialized(name: "kept", kind: .flora, rank: 2, targets: [.qProj], shapes: shapes, seed: 1)
    let slot = try bank.install(kept)
    let bad = try broken { replace(q0A, in: &$0, with: RawTensor(q0A, shape: [2, 40], values: [.nan] + .init(repeating: 1, count: 79))) }
    #expect(throws: FormatError.self) { _ = try bank.install(AdapterLoader.load(folder: bad, name: "bad", shapes: shapes)) }
    #expect(bank.count == 1 && bank.occupiedSlots == [slot] && bank.weights(at: slot) === kept)
}
