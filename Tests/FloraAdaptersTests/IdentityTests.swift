// Adapters at their identity start leave the base layer unchanged (DESIGN.md sections 1 and 6).

import FloraAdapters
import FloraTensor
import Testing

/// Runs one module for `slots`, and the same inputs through a batch without adapters.
private func adaptedAndBase(
    _ bank: AdapterBank, module: TargetModule, slots: [AdapterSlot], seed: UInt64
) -> (adapted: [Float], base: [Float]) {
    var g = SeededGenerator(seed: seed)
    let shapes = bank.shapes
    let layer = TestLayer(inputs: shapes.inputs(module), outputs: shapes.outputs(module), withBias: true, &g)
    let x = randomValues(slots.count * layer.inputs, &g)
    let adapted = layer.run(bank, layer: 0, module: module, x: x, slots: slots)
    let base = layer.run(bank, layer: 0, module: module, x: x, slots: slots.map { _ in AdapterBank.noAdapter })
    return (adapted, base)
}

@Test("An all-ones rank-1 fLoRA adapter gives exactly the base layer's output", arguments: TargetModule.llama)
func allOnesRankOneFloraIsExactlyBase(module: TargetModule) throws {
    let shapes = try tinyShapes(layers: 1)
    let bank = try AdapterBank(capacity: 1, shapes: shapes)
    let slot = try bank.install(AdapterWeights.initialized(
        kind: .flora, rank: 1, targets: TargetModule.llama, shapes: shapes, seed: 3))
    let slots = [slot, AdapterBank.noAdapter, slot, slot, AdapterBank.noAdapter, slot]
    let (adapted, base) = adaptedAndBase(bank, module: module, slots: slots, seed: 8)
    #expect(adapted == base)
}

// Rank r adds r rows of y/r into the output: rounding grows like r half-ulps, so the bound is
// 1e-6 up to rank 16 and r · 2⁻²³ beyond.
@Test("An exactly-ones fLoRA adapter of rank r gives the base layer's output", arguments: [2, 4, 7, 16, 64])
func allOnesFloraIsBase(rank: Int) throws {
    let shapes = try tinyShapes(layers: 1)
    let bank = try AdapterBank(capacity: 1, shapes: shapes)
    let slot = try bank.install(AdapterWeights.initialized(
        kind: .flora, rank: rank, targets: TargetModule.llama, shapes: shapes, seed: 3, symmetryNoise: 0))
    for module in TargetModule.llama {
        let (adapted, base) = adaptedAndBase(bank, module: module, slots: [slot, AdapterBank.noAdapter, slot], seed: 9)
        let error = maxRelativeError(adapted, base, rows: 3)
        #expect(error < max(1e-6, Float(rank) * 0x1p-23), "\(module.rawValue): relative error \(error)")
    }
}

@Test("Identity-initialized LoRA and IA3 adapters give exactly the base layer's output", arguments: [AdapterKind.lora, .ia3])
func identityLoRAAndIA3AreExactlyBase(kind: AdapterKind) throws {
    let shapes = try tinyShapes(layers: 1)
    let bank = try AdapterBank(capacity: 1, shapes: shapes)
    let slot = try bank.install(AdapterWeights.initialized(
        kind: kind, rank: 8, targets: TargetModule.llama, shapes: shapes, seed: 3))
    for kernel in LoRAKernel.allCases {
        bank.loraKernel = kernel
        for module in TargetModule.llama {
            let (adapted, base) = adaptedAndBase(bank, module: module, slots: [slot, AdapterBank.noAdapter, slot, slot], seed: 10)
            #expect(adapted == base, "\(module.rawValue) \(kernel)")
        }
    }
}

@Test("Fresh adapters are deterministic in their seed and start where DESIGN.md section 6 says")
func initializationIsSeededAndDeterministic() throws {
    let shapes = try tinyShapes()
    let base = RandomBaseWeights(shapes: shapes)
    for kind in AdapterKind.allCases {
        let a = try AdapterWeights.initialized(kind: kind, rank: 4, targets: [.qProj, .downProj], shapes: shapes, seed: 42, random: true, baseWeights: base)
        let b = try AdapterWeights.initialized(kind: kind, rank: 4, targets: [.qProj, .downProj], shapes: shapes, seed: 42, random: true, baseWeights: base)
        let c = try AdapterWeights.initialized(kind: kind, rank: 4, targets: [.qProj, .downProj], shapes: shapes, seed: 43, random: true, baseWeights: base)
        #expect(values(a) == values(b))
        #expect(values(a) != values(c))
        #expect(a.targets == [.qProj, .downProj])
        #expect(a.moduleKeys.count == 2 * shapes.layers)
    }
    let flora = try AdapterWeights.initialized(kind: .flora, rank: 4, targets: [.qProj], shapes: shapes, seed: 1)
    let floraValues = values(flora)
    #expect(floraValues.allSatisfy { abs($0 - 1) < 0.01 } && floraValues.contains { $0 != 1 })
    let exact = try AdapterWeights.initialized(kind: .flora, rank: 4, targets: [.qProj], shapes: shapes, seed: 1, symmetryNoise: 0)
    #expect(values(exact).allSatisfy { $0 == 1 })
    let lora = try AdapterWeights.initialized(kind: .lora, rank: 4, targets: [.qProj], shapes: shapes, seed: 1)
    guard case .lora(let f) = lora.module(layer: 0, .qProj) else { Issue.record("expected LoRA"); return }
    #expect(f.b().allSatisfy { $0 == 0 })
    let bound = 1 / Float(shapes.inputs(.qProj)).squareRoot()
    #expect(f.a.toArray().allSatisfy { abs($0) <= bound } && f.a.toArray().contains { $0 != 0 })
    #expect(f.scale == 1)
    let ia3 = try AdapterWeights.initialized(kind: .ia3, rank: 1, targets: [.kProj, .downProj], shapes: shapes, seed: 1)
    #expect(values(ia3).allSatisfy { $0 == 1 })
    #expect(ia3.feedForwardModules == [.downProj])
}

@Test("LoRA's scale is alpha/r, or alpha/sqrt(r) with rsLoRA")
func loraScale() throws {
    let shapes = try tinyShapes(layers: 1)
    let plain = try AdapterWeights.initialized(kind: .lora, rank: 16, targets: [.qProj], shapes: shapes, seed: 1, alpha: 32)
    let rs = try AdapterWeights.initialized(kind: .lora, rank: 16, targets: [.qProj], shapes: shapes, seed: 1, alpha: 32, useRSLoRA: true)
    guard case .lora(let p) = plain.module(layer: 0, .qProj), case .lora(let r) = rs.module(layer: 0, .qProj) else {
        Issue.record("expected LoRA modules")
        return
    }
    #expect(p.scale == 2)
    #expect(r.scale == 8)
}

/// Every tensor value of an adapter, in module order.
func values(_ weights: AdapterWeights) -> [Float] {
    weights.moduleKeys.flatMap { key -> [Float] in
        switch weights.module(layer: key.layer, key.module)! {
        case .flora(let f): f.a.toArray() + f.b()
        case .lora(let f): f.a.toArray() + f.b()
        case .ia3(let v): v.l.toArray()
        case .dora(let d): d.lora.a.toArray() + d.lora.b() + d.magnitude.toArray()
        case .road(let r): r.theta.toArray() + r.alpha.toArray()
        }
    }
}
