// PEFT folders that must load: the golden adapters against SmolLM2's shapes, Flora's own writes
// (round trip for all three kinds), and PEFT's selector features.

import FloraAdapters
import FloraFormats
import FloraTensor
import Foundation
import Testing

struct GoldenCase: Sendable, CustomTestStringConvertible {
    let folder: String
    let kind: AdapterKind
    let rank: Int
    let targets: [TargetModule]
    let scale: Float?  // LoRA
    let feedForward: [TargetModule]
    var testDescription: String { folder }
}

private let goldenCases = [
    GoldenCase(folder: "flora_r1", kind: .flora, rank: 1, targets: [.qProj, .kProj], scale: nil, feedForward: []),
    GoldenCase(folder: "flora_r4", kind: .flora, rank: 4, targets: [.qProj, .kProj], scale: nil, feedForward: []),
    GoldenCase(folder: "lora_r8", kind: .lora, rank: 8, targets: [.qProj, .kProj], scale: 2, feedForward: []),
    GoldenCase(folder: "ia3", kind: .ia3, rank: 1, targets: [.kProj, .vProj, .downProj], scale: nil, feedForward: [.downProj]),
]

@Test("The golden adapter folders load with the right kind, rank, targets and scale", arguments: goldenCases)
func goldenAdaptersLoad(golden: GoldenCase) throws {
    let shapes = try smolLM2Shapes()
    let folder = URL(fileURLWithPath: goldenAdapters).appendingPathComponent(golden.folder).path
    let weights = try AdapterLoader.load(folder: folder, name: golden.folder, shapes: shapes)
    #expect(weights.kind == golden.kind)
    #expect(weights.rank == golden.rank)
    #expect(weights.targets == golden.targets)
    #expect(weights.moduleKeys.count == 30 * golden.targets.count)
    #expect(weights.feedForwardModules == golden.feedForward)
    #expect(weights.baseModelNameOrPath == "HuggingFaceTB/SmolLM2-135M-Instruct")
    #expect(weights.sizeInBytes > 0)
    // Values are the file's, in PEFT's layout.
    let file = try SafetensorsFile(path: URL(fileURLWithPath: folder).appendingPathComponent("adapter_model.safetensors").path)
    let layer = 17
    for module in golden.targets {
        let prefix = "base_model.model.model.layers.\(layer).\(module.block).\(module.rawValue)."
        switch weights.module(layer: layer, module) {
        case .flora(let f):
            #expect(f.a.toArray() == (try file.tensor(prefix + "flora_A.weight")).toArray())
            #expect(f.b() == (try file.tensor(prefix + "flora_B.weight")).toArray())
            #expect(f.rank == golden.rank && f.inputs == shapes.inputs(module) && f.outputs == shapes.outputs(module))
        case .lora(let f):
            #expect(f.a.toArray() == (try file.tensor(prefix + "lora_A.weight")).toArray())
            #expect(f.b() == (try file.tensor(prefix + "lora_B.weight")).toArray())
            #expect(f.scale == golden.scale)
        case .ia3(let v):
            #expect(v.l.toArray() == (try file.tensor(prefix + "ia3_l")).toArray())
            #expect(v.feedForward == golden.feedForward.contains(module))
        case .dora, .road:
            Issue.record("layer \(layer) \(module.rawValue): the golden adapters hold no DoRA or RoAd")
        case nil:
            Issue.record("layer \(layer) \(module.rawValue) missing")
        }
    }
}

@Test("The golden adapters install side by side into one bank")
func goldenAdaptersShareABank() throws {
    let shapes = try smolLM2Shapes()
    let bank = try AdapterBank(capacity: 4, shapes: shapes)
    for golden in goldenCases {
        let folder = URL(fileURLWithPath: goldenAdapters).appendingPathComponent(golden.folder).path
        _ = try bank.install(AdapterLoader.load(folder: folder, name: golden.folder, shapes: shapes))
    }
    #expect(bank.count == 4)
    #expect(bank.occupiedSlots.compactMap { bank.weights(at: $0)?.name } == goldenCases.map(\.folder))
}

@Test("Written adapters read back identical, for every kind", arguments: AdapterKind.allCases)
func writeReadRoundTrip(kind: AdapterKind) throws {
    let shapes = try tinyShapes(layers: 3)
    let base = RandomBaseWeights(shapes: shapes)
    let original = try AdapterWeights.initialized(
        name: "round", kind: kind, rank: 4, targets: [.qProj, .kProj, .vProj, .downProj, .upProj], shapes: shapes,
        seed: 21, random: true, alpha: 12, useRSLoRA: kind.hasLoRAFactors, feedForward: [.downProj, .upProj], baseWeights: base)
    let folder = try temporaryFolder()
    try AdapterWriter.write(original, to: folder)
    let loaded = try AdapterLoader.load(folder: folder, name: "round", shapes: shapes, baseWeights: base)
    #expect(loaded.kind == kind && loaded.rank == original.rank && loaded.targets == original.targets)
    #expect(loaded.loraAlpha == original.loraAlpha && loaded.useRSLoRA == original.useRSLoRA)
    #expect(loaded.feedForwardModules == original.feedForwardModules)
    #expect(loaded.moduleKeys == original.moduleKeys)
    #expect(values(loaded) == values(original))
    try FileManager.default.removeItem(atPath: folder)
}

@Test("Per-module ranks and alphas, partial layers and irregular module sets survive a round trip")
func irregularRoundTrip() throws {
    let shapes = try tinyShapes(layers: 3)
    var g = SeededGenerator(seed: 8)
    func lora(_ module: TargetModule, rank: Int, alpha: Float) throws -> AdapterModuleWeights {
        let (i, o) = (shapes.inputs(module), shapes.outputs(module))
        return .lora(try LoRAFactors(
            rank: rank, inputs: i, outputs: o, a: randomValues(rank * i, &g), b: randomValues(o * rank, &g), alpha: alpha, useRSLoRA: false))
    }
    // Not a grid: q in layers 0 and 2, v in layer 1 with its own rank and alpha.
    let irregular = try AdapterWeights(
        name: "irregular", kind: .lora, rank: 4, shapes: shapes,
        modules: [AdapterModuleKey(layer: 0, module: .qProj): lora(.qProj, rank: 4, alpha: 8),
                  AdapterModuleKey(layer: 2, module: .qProj): lora(.qProj, rank: 4, alpha: 8),
                  AdapterModuleKey(layer: 1, module: .vProj): lora(.vProj, rank: 6, alpha: 3)],
        loraAlpha: 8)
    // A grid over some layers: layers_to_transform.
    let partial = try AdapterWeights(
        name: "partial", kind: .lora, rank: 2, shapes: shapes,
        modules: [AdapterModuleKey(layer: 1, module: .oProj): lora(.oProj, rank: 2, alpha: 2),
                  AdapterModuleKey(layer: 1, module: .gateProj): lora(.gateProj, rank: 2, alpha: 2)],
        loraAlpha: 2)
    #expect(AdapterWriter.config(for: partial).layersToTransform == [1])
    #expect(AdapterWriter.config(for: irregular).rankPattern.count == 1)
    for weights in [irregular, partial] {
        let folder = try temporaryFolder()
        try AdapterWriter.write(weights, to: folder)
        let loaded = try AdapterLoader.load(folder: folder, name: weights.name, shapes: shapes)
        #expect(loaded.moduleKeys == weights.moduleKeys)
        #expect(values(loaded) == values(weights))
        for key in weights.moduleKeys {
            guard case .lora(let a) = loaded.module(layer: key.layer, key.module),
                  case .lora(let b) = weights.module(layer: key.layer, key.module) else { Issue.record("not LoRA"); continue }
            #expect(a.rank == b.rank && a.scale == b.scale, "\(key)")
        }
        try FileManager.default.removeItem(atPath: folder)
    }
}

@Test("Flora writes LoRA and IA3 configs with PEFT's field names")
func writtenConfigsUsePEFTNames() throws {
    let shapes = try tinyShapes()
    let lora = try AdapterWeights.initialized(kind: .lora, rank: 8, targets: [.qProj, .vProj], shapes: shapes, seed: 1, alpha: 16)
    let json = try JSONSerialization.jsonObject(with: AdapterWriter.config(for: lora).jsonData()) as! [String: Any]
    #expect(json["peft_type"] as? String == "LORA")
    #expect(json["r"] as? Int == 8 && json["lora_alpha"] as? Double == 16)
    #expect(json["target_modules"] as? [String] == ["q_proj", "v_proj"])
    #expect(json["bias"] as? String == "none" && json["fan_in_fan_out"] as? Bool == false && json["use_rslora"] as? Bool == false)
    let ia3 = try AdapterWeights.initialized(kind: .ia3, rank: 1, targets: [.kProj, .vProj, .downProj], shapes: shapes, seed: 1)
    let ia3JSON = try JSONSerialization.jsonObject(with: AdapterWriter.config(for: ia3).jsonData()) as! [String: Any]
    #expect(ia3JSON["peft_type"] as? String == "IA3")
    #expect(ia3JSON["feedforward_modules"] as? [String] == ["down_proj"])
    #expect(ia3JSON["r"] == nil && ia3JSON["lora_alpha"] == nil)
    let names = AdapterWriter.tensors(for: ia3).map(\.name)
    #expect(names.contains("base_model.model.model.layers.1.mlp.down_proj.ia3_l"))
    #expect(AdapterWriter.tensors(for: ia3).first { $0.name.hasSuffix("down_proj.ia3_l") }?.tensor.shape == [1, 56])
    #expect(AdapterWriter.tensors(for: ia3).first { $0.name.hasSuffix("k_proj.ia3_l") }?.tensor.shape == [20, 1])
}

@Test("Tensor names with PEFT's older '.default' adapter segment load")
func defaultSegmentNamesLoad() throws {
    let (config, tensors) = try validTinyLoRA()
    let renamed = tensors.map { t -> RawTensor in
        var t = t
        t.name = t.name.replacingOccurrences(of: ".weight", with: ".default.weight")
        return t
    }
    let weights = try AdapterLoader.load(folder: try writeFolder(config: config, tensors: renamed), name: "old", shapes: try tinyShapes())
    #expect(weights.targets == [.qProj, .vProj] && weights.moduleKeys.count == 4)
}

@Test("PEFT selectors apply: regex target_modules, layers_to_transform, exclude_modules, rank_pattern, alpha_pattern")
func peftSelectorsApply() throws {
    let shapes = try tinyShapes()
    let full = rawTensors(of: try AdapterWeights.initialized(
        kind: .lora, rank: 2, targets: [.qProj, .vProj], shapes: shapes, seed: 3, random: true))
    // A regular expression selecting q and v in every layer.
    let regex = try AdapterLoader.load(
        folder: try writeFolder(config: loraConfig(targets: #"".*\\.(q|v)_proj""#), tensors: full), name: "regex", shapes: shapes)
    #expect(regex.targets == [.qProj, .vProj] && regex.moduleKeys.count == 4)
    // Only layer 1.
    let layer1 = full.filter { $0.name.contains("layers.1.") }
    let partial = try AdapterLoader.load(
        folder: try writeFolder(config: loraConfig(extra: #", "layers_to_transform": [1], "layers_pattern": "layers""#), tensors: layer1),
        name: "partial", shapes: shapes)
    #expect(partial.moduleKeys.map(\.layer) == [1, 1])
    // Excluding layer 0's v_proj.
    let excluded = full.filter { !$0.name.contains("layers.0.self_attn.v_proj") }
    let withExclusion = try AdapterLoader.load(
        folder: try writeFolder(config: loraConfig(extra: #", "exclude_modules": ["model.layers.0.self_attn.v_proj"]"#), tensors: excluded),
        name: "excluded", shapes: shapes)
    #expect(withExclusion.moduleKeys.count == 3)
    // v_proj at rank 3 with alpha 12 through the patterns; q_proj keeps r = 2, alpha 4.
    var g = SeededGenerator(seed: 4)
    let mixed = full.filter { $0.name.contains("q_proj") } + (0..<2).flatMap { layer -> [RawTensor] in
        let prefix = "base_model.model.model.layers.\(layer).self_attn.v_proj."
        return [RawTensor(prefix + "lora_A.weight", shape: [3, 40], values: randomValues(120, &g)),
                RawTensor(prefix + "lora_B.weight", shape: [20, 3], values: randomValues(60, &g))]
    }
    let patterned = try AdapterLoader.load(
        folder: try writeFolder(config: loraConfig(extra: #", "rank_pattern": {"v_proj": 3}, "alpha_pattern": {"v_proj": 12}"#), tensors: mixed),
        name: "patterned", shapes: shapes)
    guard case .lora(let v) = patterned.module(layer: 1, .vProj), case .lora(let q) = patterned.module(layer: 1, .qProj) else {
        Issue.record("expected LoRA modules")
        return
    }
    #expect(v.rank == 3 && v.scale == 4)
    #expect(q.rank == 2 && q.scale == 2)
}

@Test("Half-precision adapter tensors (F16, BF16) load as fp32")
func halfPrecisionLoads() throws {
    let shapes = try tinyShapes()
    let weights = try AdapterWeights.initialized(kind: .flora, rank: 2, targets: [.kProj], shapes: shapes, seed: 2, random: true)
    for dtype in [SafetensorsDType.f16, .bf16] {
        let folder = try temporaryFolder()
        try Data(AdapterWriter.config(for: weights).jsonData()).write(to: URL(fileURLWithPath: folder).appendingPathComponent("adapter_config.json"))
        try SafetensorsWriter.write(tensors: AdapterWriter.tensors(for: weights), dtype: dtype,
                                    to: URL(fileURLWithPath: folder).appendingPathComponent("adapter_model.safetensors").path)
        let loaded = try AdapterLoader.load(folder: folder, name: "half", shapes: shapes)
        let error = zip(values(loaded), values(weights)).map { abs($0 - $1) / abs($1) }.max() ?? 1
        #expect(error < (dtype == .f16 ? 1e-3 : 1e-2), "\(dtype)")
    }
}
