// bank.linear against the per-token reference of DESIGN.md section 1, on random mixes.

import FloraAdapters
import FloraTensor
import Testing

private let ranks = [1, 2, 3, 4, 8, 16, 64]

/// A random adapter: random kind, rank, targets (and IA3 feed-forward set), random weights.
func randomAdapter(_ g: inout SeededGenerator, shapes: AdapterTargetShapes, name: String) throws -> AdapterWeights {
    let kind = AdapterKind.allCases[Int(g.next() % 3)]
    let rank = ranks[Int(g.next() % UInt64(ranks.count))]
    var targets = TargetModule.llama.filter { _ in g.next() % 2 == 0 }
    if targets.isEmpty { targets = [TargetModule.llama[Int(g.next() % 7)]] }
    let feedForward = targets.filter { _ in g.next() % 2 == 0 }
    return try AdapterWeights.initialized(
        name: name, kind: kind, rank: rank, targets: targets, shapes: shapes, seed: g.next(), random: true,
        alpha: Float(1 + g.next() % 32), useRSLoRA: g.next() % 2 == 0, feedForward: feedForward)
}

/// Token slots: shuffled (decode-like) or in runs of one slot (prefill-like), a quarter without adapter.
func randomSlots(_ g: inout SeededGenerator, tokens: Int, installed: [AdapterSlot], runs: Bool) -> [AdapterSlot] {
    var slots: [AdapterSlot] = []
    while slots.count < tokens {
        let slot = g.next() % 4 == 0 ? AdapterBank.noAdapter : installed[Int(g.next() % UInt64(installed.count))]
        let length = runs ? 1 + Int(g.next() % 9) : 1
        slots += Array(repeating: slot, count: min(length, tokens - slots.count))
    }
    return slots
}

@Test("A random mix of adapter kinds and ranks through bank.linear matches the per-token reference",
      arguments: [1, 2, 3, 4, 5, 6] as [UInt64], LoRAKernel.allCases)
func randomMixMatchesReference(seed: UInt64, kernel: LoRAKernel) throws {
    var g = SeededGenerator(seed: seed)
    let shapes = try tinyShapes()
    let bank = try AdapterBank(capacity: 8, shapes: shapes)
    bank.loraKernel = kernel
    let installed = try (0..<6).map { try bank.install(randomAdapter(&g, shapes: shapes, name: "adapter\($0)")) }
    let tokens = 1 + Int(g.next() % 40)
    let slots = randomSlots(&g, tokens: tokens, installed: installed, runs: seed % 2 == 0)
    try slots.withUnsafeBufferPointer { try bank.prepare(slots: $0.baseAddress!, tokens: tokens) }
    for layerIndex in 0..<shapes.layers {
        for module in TargetModule.llama {
            let layer = TestLayer(inputs: shapes.inputs(module), outputs: shapes.outputs(module), withBias: g.next() % 2 == 0, &g)
            let x = randomValues(tokens * layer.inputs, &g)
            let y = layer.run(bank, layer: layerIndex, module: module, x: x, slots: slots)
            let reference = layer.reference(bank, layer: layerIndex, module: module, x: x, slots: slots)
            let error = maxRelativeError(y, reference, rows: tokens)
            #expect(error < 1e-4, "layer \(layerIndex) \(module.rawValue): relative error \(error)")
        }
    }
}

@Test("Every adapter kind alone, at every rank, matches the reference", arguments: [AdapterKind.flora, .lora, .ia3, .road], ranks)
func singleKindMatchesReference(kind: AdapterKind, rank: Int) throws {
    var g = SeededGenerator(seed: UInt64(rank) &* 31 &+ UInt64(kind.hashValue & 0xff))
    let shapes = try tinyShapes(layers: 1)
    let bank = try AdapterBank(capacity: 2, shapes: shapes)
    let weights = try AdapterWeights.initialized(
        kind: kind, rank: rank, targets: TargetModule.llama, shapes: shapes, seed: 7, random: true, alpha: 3)
    let slot = try bank.install(weights)
    let slots: [AdapterSlot] = [slot, AdapterBank.noAdapter, slot, slot, AdapterBank.noAdapter]
    for kernel in LoRAKernel.allCases {
        bank.loraKernel = kernel
        for module in TargetModule.llama {
            let layer = TestLayer(inputs: shapes.inputs(module), outputs: shapes.outputs(module), withBias: true, &g)
            let x = randomValues(slots.count * layer.inputs, &g)
            let y = layer.run(bank, layer: 0, module: module, x: x, slots: slots)
            let reference = layer.reference(bank, layer: 0, module: module, x: x, slots: slots)
            let error = maxRelativeError(y, reference, rows: slots.count)
            #expect(error < 1e-4, "\(kind) rank \(rank) \(module.rawValue) \(kernel): relative error \(error)")
        }
    }
}

@Test("The gather-bmm and segmented LoRA kernels agree", arguments: [11, 12, 13] as [UInt64])
func loraKernelsAgree(seed: UInt64) throws {
    var g = SeededGenerator(seed: seed)
    let shapes = try tinyShapes(layers: 1)
    let bank = try AdapterBank(capacity: 5, shapes: shapes)
    let installed = try ranks.prefix(5).map {
        try bank.install(AdapterWeights.initialized(
            kind: .lora, rank: $0, targets: TargetModule.llama, shapes: shapes, seed: g.next(), random: true, alpha: 16))
    }
    let tokens = 33
    let slots = randomSlots(&g, tokens: tokens, installed: installed, runs: seed == 12)
    for module in TargetModule.llama {
        let layer = TestLayer(inputs: shapes.inputs(module), outputs: shapes.outputs(module), withBias: false, &g)
        let x = randomValues(tokens * layer.inputs, &g)
        bank.loraKernel = .bmm
        let bmm = layer.run(bank, layer: 0, module: module, x: x, slots: slots)
        bank.loraKernel = .segmented
        let segmented = layer.run(bank, layer: 0, module: module, x: x, slots: slots)
        #expect(maxRelativeError(bmm, segmented, rows: tokens) < 1e-5, "\(module.rawValue)")
    }
}

@Test("A batch in which no token adapts the module takes the plain product and matches the reference")
func batchWithoutAdaptersMatchesReference() throws {
    var g = SeededGenerator(seed: 99)
    let shapes = try tinyShapes(layers: 1)
    let bank = try AdapterBank(capacity: 2, shapes: shapes)
    let qOnly = try bank.install(AdapterWeights.initialized(
        kind: .flora, rank: 4, targets: [.qProj], shapes: shapes, seed: 1, random: true))
    let slots: [AdapterSlot] = [AdapterBank.noAdapter, qOnly, qOnly, AdapterBank.noAdapter]
    for module in TargetModule.llama where module != .qProj {
        let layer = TestLayer(inputs: shapes.inputs(module), outputs: shapes.outputs(module), withBias: true, &g)
        let x = randomValues(slots.count * layer.inputs, &g)
        let y = layer.run(bank, layer: 0, module: module, x: x, slots: slots)
        let reference = layer.reference(bank, layer: 0, module: module, x: x, slots: slots)
        #expect(maxRelativeError(y, reference, rows: slots.count) < 1e-5)
    }
}

@Test("Every LoRA rank from 1 to 64 matches the reference in one batch", arguments: LoRAKernel.allCases)
func everyLoRARankInOneBatch(kernel: LoRAKernel) throws {
    var g = SeededGenerator(seed: 5)
    let shapes = try tinyShapes(layers: 1)
    let bank = try AdapterBank(capacity: 64, shapes: shapes)
    bank.loraKernel = kernel
    let installed = try (1...64).map {
        try bank.install(AdapterWeights.initialized(
            name: "r\($0)", kind: $0 % 2 == 0 ? .lora : .flora, rank: $0, targets: [.vProj, .downProj], shapes: shapes,
            seed: UInt64($0), random: true))
    }
    let slots = installed + installed.reversed() + [AdapterBank.noAdapter]
    for module in [TargetModule.vProj, .downProj] {
        let layer = TestLayer(inputs: shapes.inputs(module), outputs: shapes.outputs(module), withBias: true, &g)
        let x = randomValues(slots.count * layer.inputs, &g)
        let y = layer.run(bank, layer: 0, module: module, x: x, slots: slots)
        let reference = layer.reference(bank, layer: 0, module: module, x: x, slots: slots)
        #expect(maxRelativeError(y, reference, rows: slots.count) < 1e-4, "\(module.rawValue)")
    }
}
