// DoRA and RoAd in the adapter layer: their precomputed factors, bank.linear against the
// per-token reference in batches mixing every kind, and malformed folders refused by name.

import FloraAdapters
import FloraFormats
import FloraTensor
import Foundation
import Testing

@Test("DoRA with m = ‖W + s·B A‖ is its LoRA, and scaling m scales the whole adapted output but not the bias")
func doraMagnitudeAtTheNormIsLoRA() throws {
    var g = SeededGenerator(seed: 5)
    let shapes = try tinyShapes(layers: 1)
    let base = RandomBaseWeights(shapes: shapes)
    let dora = try AdapterWeights.initialized(kind: .dora, rank: 3, targets: [.qProj], shapes: shapes, seed: 9, random: true, alpha: 5, baseWeights: base)
    guard case .dora(let d) = dora.module(layer: 0, .qProj) else { Issue.record("expected DoRA"); return }
    let w = try #require(base.adapterBaseWeight(layer: 0, module: .qProj))
    let norms = DoRAFactors.rowNorms(d.lora, baseWeight: w)
    // The norm by its definition, one row at a time, against the helper.
    let (n, k) = (d.lora.outputs, d.lora.inputs)
    let a = d.lora.a.toArray(), b = d.lora.b()
    for o in [0, n / 2, n - 1] {
        var sum = 0.0
        for p in 0..<k {
            var v = Double(w.toArray()[o * k + p])
            for j in 0..<d.lora.rank { v += Double(d.lora.scale) * Double(b[o * d.lora.rank + j]) * Double(a[j * k + p]) }
            sum += v * v
        }
        #expect(abs(sum.squareRoot() - norms[o]) <= 1e-9 * norms[o])
    }
    let atNorm = try DoRAFactors(lora: d.lora, magnitude: norms.map { Float($0) }, baseWeight: w)
    #expect(atNorm.outputScale.toArray().allSatisfy { abs($0 - 1) < 1e-6 })
    let doubled = try DoRAFactors(lora: d.lora, magnitude: norms.map { 2 * Float($0) }, baseWeight: w)
    let layer = TestLayer(inputs: k, outputs: n, withBias: true, &g)
    let x = randomValues(2 * k, &g)
    let lora = layer.reference(adapters: [.lora(d.lora), .lora(d.lora)], x: x)
    let same = layer.reference(adapters: [.dora(atNorm), .dora(atNorm)], x: x)
    let twice = layer.reference(adapters: [.dora(doubled), .dora(doubled)], x: x)
    let bias = try #require(layer.bias)
    #expect(maxRelativeError(same, lora, rows: 2) < 1e-5)
    let expectedTwice = (0..<2 * n).map { 2 * (lora[$0] - bias[$0 % n]) + bias[$0 % n] }
    #expect(maxRelativeError(twice, expectedTwice, rows: 2) < 1e-5)
}

@Test("RoAd pairs output i with i + group/2 inside each group, per variant",
      arguments: PEFTConfig.RoadVariant.allCases)
func roadPairsHalvesOfEachGroup(variant: PEFTConfig.RoadVariant) throws {
    let n = 8, groupSize = 4
    let count = RoadRotation.valueCount(variant, outputs: n)
    let theta = (0..<count).map { Float($0 + 1) * 0.1 }
    let alpha = (0..<count).map { 1 + Float($0) * 0.05 }
    let road = try RoadRotation(variant: variant, groupSize: groupSize, inputs: 3, outputs: n, theta: theta, alpha: alpha)
    // f and s per output, as PEFT's _prepare_cols lays them out.
    func fs(_ o: Int) -> (Float, Float) {
        let group = o / groupSize, within = o % groupSize
        switch variant {
        case .road1: let i = group * 2 + within % 2; return (alpha[i] * cos(theta[i]), alpha[i] * sin(theta[i]))
        case .road2: return (alpha[o] * cos(theta[o]), alpha[o] * sin(theta[o]))
        case .road4:
            let i = group * 8 + within
            return (alpha[i] * cos(theta[i]), alpha[i + 4] * sin(theta[i + 4]))
        }
    }
    let z: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
    let expected: [Float] = (0..<n).map { o in
        let (f, s) = fs(o)
        let within = o % groupSize
        return within < 2 ? f * z[o] - s * z[o + 2] : f * z[o] + s * z[o - 2]
    }
    let layer = IdentityLayer(size: n)
    let y = layer.reference(adapters: [.road(road)], input: z)
    #expect(maxRelativeError(y, expected, rows: 1) < 1e-6, "\(y) against \(expected)")
}

/// W = I with inputs = outputs = `size`, no bias: the layer's output is its input.
private struct IdentityLayer {
    let size: Int
    func reference(adapters: [AdapterModuleWeights?], input: [Float]) -> [Float] {
        let w = (0..<size * size).map { Float($0 / size == $0 % size ? 1 : 0) }
        var y = [Float](repeating: .nan, count: input.count)
        w.withUnsafeBufferPointer { w in
            input.withUnsafeBufferPointer { x in
                y.withUnsafeMutableBufferPointer { y in
                    AdapterReference.linear(
                        weight: w.baseAddress!, outputs: size, inputs: size, bias: nil, input: x.baseAddress!,
                        tokens: adapters.count, adapters: adapters, output: y.baseAddress!)
                }
            }
        }
        return y
    }
}

@Test("A batch mixing base, fLoRA, LoRA, IA3, DoRA and RoAd tokens through bank.linear matches the reference",
      arguments: [31, 32, 33, 34] as [UInt64], LoRAKernel.allCases)
func everyKindMixedMatchesReference(seed: UInt64, kernel: LoRAKernel) throws {
    var g = SeededGenerator(seed: seed)
    let shapes = try tinyShapes()
    let base = RandomBaseWeights(shapes: shapes)
    let bank = try AdapterBank(capacity: 8, shapes: shapes)
    bank.loraKernel = kernel
    var installed: [AdapterSlot] = []
    for (i, kind) in [AdapterKind.flora, .lora, .ia3, .dora, .road, .dora, .road].enumerated() {
        let variant = PEFTConfig.RoadVariant.allCases[i % 3]
        var targets = TargetModule.llama.filter { _ in g.next() % 3 != 0 }
        if targets.isEmpty { targets = [.qProj] }
        installed.append(try bank.install(AdapterWeights.initialized(
            name: "a\(i)", kind: kind, rank: 1 + Int(g.next() % 6), targets: targets, shapes: shapes, seed: g.next(), random: true,
            alpha: 4, useRSLoRA: i == 5, baseWeights: base, roadVariant: variant)))
    }
    let tokens = 12 + Int(g.next() % 30)
    let slots = randomSlots(&g, tokens: tokens, installed: installed, runs: seed % 2 == 0)
    for layerIndex in 0..<shapes.layers {
        for module in TargetModule.llama {
            let layer = TestLayer(inputs: shapes.inputs(module), outputs: shapes.outputs(module), withBias: g.next() % 2 == 0, &g)
            let x = randomValues(tokens * layer.inputs, &g)
            let y = layer.run(bank, layer: layerIndex, module: module, x: x, slots: slots)
            let reference = layer.reference(bank, layer: layerIndex, module: module, x: x, slots: slots)
            let error = maxRelativeError(y, reference, rows: tokens)
            #expect(error < 1e-4, "layer \(layerIndex) \(module.rawValue) (\(kernel)): relative error \(error)")
        }
    }
}

// MARK: - Malformed folders

/// A valid tiny DoRA folder's config and tensors (rank 2 on q_proj and v_proj).
private func validDoRA() throws -> (config: String, tensors: [RawTensor]) {
    let shapes = try tinyShapes()
    let weights = try AdapterWeights.initialized(
        kind: .dora, rank: 2, targets: [.qProj, .vProj], shapes: shapes, seed: 3, random: true, alpha: 4, baseWeights: RandomBaseWeights(shapes: shapes))
    return (loraConfig(extra: #", "use_dora": true"#), rawTensors(of: weights))
}

/// A valid tiny RoAd folder (road_2, group size 4, on q_proj and v_proj).
private func validRoad(variant: String = "road_2", groupSize: Int = 4) throws -> (config: String, tensors: [RawTensor]) {
    let weights = try AdapterWeights.initialized(
        kind: .road, rank: 1, targets: [.qProj, .vProj], shapes: try tinyShapes(), seed: 3, random: true, roadVariant: .road2, groupSize: 4)
    let config = #"{"peft_type": "ROAD", "variant": "\#(variant)", "group_size": \#(groupSize), "target_modules": ["q_proj", "v_proj"]}"#
    return (config, rawTensors(of: weights))
}

private let q0Magnitude = "base_model.model.model.layers.0.self_attn.q_proj.lora_magnitude_vector"
private let v1Theta = "base_model.model.model.layers.1.self_attn.v_proj.road_theta"

@Test("Valid tiny DoRA and RoAd folders load (the malformed ones below differ from them in one thing)")
func validDoRAAndRoadFoldersLoad() throws {
    let shapes = try tinyShapes()
    let dora = try validDoRA(), road = try validRoad()
    let d = try AdapterLoader.load(folder: writeFolder(config: dora.config, tensors: dora.tensors), name: "d", shapes: shapes,
                                   baseWeights: RandomBaseWeights(shapes: shapes))
    #expect(d.kind == .dora && d.rank == 2 && d.loraAlpha == 4)
    let r = try AdapterLoader.load(folder: writeFolder(config: road.config, tensors: road.tensors), name: "r", shapes: shapes)
    #expect(r.kind == .road && r.targets == [.qProj, .vProj])
}

@Test("Malformed DoRA and RoAd folders are refused naming the tensor or key", arguments: [
    "DoRA magnitude of the wrong shape", "DoRA magnitude missing", "DoRA magnitude holding NaN",
    "RoAd group size not dividing the outputs", "RoAd unknown variant", "RoAd odd group size", "RoAd theta holding NaN",
    "RoAd theta of another variant's length",
])
func malformedDoRAAndRoadFoldersAreRefused(label: String) throws {
    let shapes = try tinyShapes()
    var (config, tensors) = label.hasPrefix("DoRA") ? try validDoRA() : try validRoad()
    let item: String
    switch label {
    case "DoRA magnitude of the wrong shape":
        let i = try #require(tensors.firstIndex { $0.name == q0Magnitude })
        tensors[i] = RawTensor(q0Magnitude, shape: [shapes.outputs(.qProj) - 1], values: [Float](repeating: 1, count: shapes.outputs(.qProj) - 1))
        item = q0Magnitude
    case "DoRA magnitude missing":
        tensors.removeAll { $0.name == q0Magnitude }
        item = q0Magnitude
    case "DoRA magnitude holding NaN":
        let i = try #require(tensors.firstIndex { $0.name == q0Magnitude })
        var values = [Float](repeating: 1, count: shapes.outputs(.qProj))
        values[3] = .nan
        tensors[i] = RawTensor(q0Magnitude, shape: [values.count], values: values)
        item = q0Magnitude
    case "RoAd group size not dividing the outputs":
        config = try validRoad(groupSize: 8).config  // v_proj has 20 outputs
        item = "group_size"
    case "RoAd unknown variant":
        config = try validRoad(variant: "road_3").config
        item = "variant"
    case "RoAd odd group size":
        config = try validRoad(groupSize: 5).config
        item = "group_size"
    case "RoAd theta holding NaN":
        let i = try #require(tensors.firstIndex { $0.name == v1Theta })
        var values = [Float](repeating: 0.1, count: shapes.outputs(.vProj))
        values[0] = .nan
        tensors[i] = RawTensor(v1Theta, shape: [values.count], values: values)
        item = v1Theta
    default:  // road_1 config, road_2 tensors: θ has twice the expected length
        config = try validRoad(variant: "road_1").config
        item = ".road_"  // whichever of θ and α is checked first
    }
    let folder = try writeFolder(config: config, tensors: tensors)
    do {
        _ = try AdapterLoader.load(folder: folder, name: "bad", shapes: shapes, baseWeights: RandomBaseWeights(shapes: shapes))
        Issue.record("\(label): loaded")
    } catch let error as FormatError {
        #expect(error.item?.contains(item) == true, "\(label): \(error)")
        #expect("\(error)".contains("expected"), "\(label): \(error)")
    }
    try? FileManager.default.removeItem(atPath: folder)
}

@Test("Mixtures of DoRA or RoAd adapters are refused naming the kind")
func mixturesOfNewKindsAreRefused() throws {
    let shapes = try tinyShapes()
    for kind in [AdapterKind.dora, .road] {
        let a = try AdapterWeights.initialized(
            name: "a", kind: kind, rank: 2, targets: [.qProj], shapes: shapes, seed: 1, random: true, baseWeights: RandomBaseWeights(shapes: shapes))
        #expect { try AdapterWeights.mixing([(a, 0.5), (a, 0.5)], name: "m") } throws: { "\($0)".contains(kind.rawValue) }
    }
}
