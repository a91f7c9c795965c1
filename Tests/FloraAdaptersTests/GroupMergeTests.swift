// fLoRA's per-group merge (DESIGN.md section 1): the merged panels against their plain loop, and
// merged groups inside mixed batches against the row expansion (1e-5 relative, exact products).

import FloraAdapters
import FloraTensor
import Testing

/// A random weight `[outputs, inputs]`, packed as fp32 or quantized panels (exact products).
private func randomWeight(outputs: Int, inputs: Int, format: BlockFormat, _ g: inout SeededGenerator) throws -> PackedMatrix {
    let values = randomValues(outputs * inputs, &g, scale: 1 / Float(inputs).squareRoot())
    return try values.withUnsafeBufferPointer { w in
        if format == .f32 { return PackedMatrix(weight: w.baseAddress!, outputs: outputs, inputs: inputs) }
        return try PackedMatrix(quantizing: w.baseAddress!, outputs: outputs, inputs: inputs, format: format)
    }
}

@Test("Merged panels equal W ∘ (B A) · factor for fp32 and quantized weights, with padded panels",
      arguments: [(BlockFormat.f32, 40, 56), (.f32, 70, 33), (.q8_0, 50, 64), (.q4_1, 96, 64), (.q4_K, 33, 256)], [1, 3, 8, 17])
func mergedPanelsMatchPlainLoop(shape: (BlockFormat, Int, Int), rank: Int) throws {
    let (format, outputs, inputs) = shape
    var g = SeededGenerator(seed: UInt64(outputs * 1000 + inputs * 10 + rank))
    let w = try randomWeight(outputs: outputs, inputs: inputs, format: format, &g)
    let a = randomValues(rank * inputs, &g), bT = randomValues(rank * outputs, &g)
    let factor = 1 / Float(rank)
    let panels = ScratchBuffer<Float>(capacity: MatMul.mergedPanelFloats(w))
    panels.pointer.update(repeating: .nan, count: MatMul.mergedPanelFloats(w))
    a.withUnsafeBufferPointer { a in
        bT.withUnsafeBufferPointer { bT in
            MatMul.mergeFlora(w, a: a.baseAddress!, bT: bT.baseAddress!, rank: rank, factor: factor, into: panels.pointer)
        }
    }
    let reference = a.withUnsafeBufferPointer { a in
        bT.withUnsafeBufferPointer { bT in
            MatMul.mergeFloraReference(w, a: a.baseAddress!, bT: bT.baseAddress!, rank: rank, factor: factor)
        }
    }
    var worst: Float = 0, scale: Float = 0
    let panelCount = (outputs + 31) / 32
    for i in 0..<panelCount * 32 {
        for p in 0..<inputs {
            let value = panels[(i / 32) * 32 * inputs + p * 32 + i % 32]
            let expected: Float = i < outputs ? reference.pointer[i * inputs + p] : 0
            worst = max(worst, abs(value - expected))
            scale = max(scale, abs(expected))
        }
    }
    #expect(worst <= 1e-6 * scale, "\(format) \(outputs)×\(inputs) rank \(rank): max difference \(worst) against scale \(scale)")
}

/// Sampled (rank, merged group size) pairs: ranks 1–64, group sizes 1–512.
private let mergeCases: [(rank: Int, groupTokens: Int)] = [(1, 1), (1, 37), (2, 512), (3, 5), (8, 64), (16, 2), (16, 300), (31, 9), (64, 1), (64, 128), (64, 512)]

@Test("A merged fLoRA group mixed with other groups and kinds equals the row expansion within 1e-5",
      arguments: mergeCases, [BlockFormat.f32, .q8_0])
func mergedGroupMatchesExpansion(testCase: (rank: Int, groupTokens: Int), format: BlockFormat) throws {
    var g = SeededGenerator(seed: UInt64(testCase.rank * 7919 + testCase.groupTokens))
    let shapes = try AdapterTargetShapes.llama(
        layers: 1, hiddenSize: 64, attentionHeads: 4, keyValueHeads: 2, headDimension: 16, intermediateSize: 96)
    let bank = try AdapterBank(capacity: 6, shapes: shapes)
    let merged = try bank.install(AdapterWeights.initialized(
        name: "merged", kind: .flora, rank: testCase.rank, targets: TargetModule.llama, shapes: shapes, seed: g.next(), random: true))
    let others = try [
        bank.install(AdapterWeights.initialized(name: "flora5", kind: .flora, rank: 5, targets: TargetModule.llama, shapes: shapes, seed: g.next(), random: true)),
        bank.install(AdapterWeights.initialized(name: "lora", kind: .lora, rank: 4, targets: TargetModule.llama, shapes: shapes, seed: g.next(), random: true, alpha: 8)),
        bank.install(AdapterWeights.initialized(name: "ia3", kind: .ia3, rank: 1, targets: TargetModule.llama, shapes: shapes, seed: g.next(), random: true)),
        AdapterBank.noAdapter,
    ]
    // Other tokens before, between and after the group's tokens, which are not all contiguous.
    var slots: [AdapterSlot] = (0..<7).map { others[$0 % others.count] }
    for i in 0..<testCase.groupTokens {
        slots.append(merged)
        if i % 97 == 50 { slots.append(others[i % others.count]) }
    }
    slots += (0..<6).map { others[($0 + 1) % others.count] }
    for module in TargetModule.llama {
        let inputs = shapes.inputs(module), outputs = shapes.outputs(module)
        let weight = try randomWeight(outputs: outputs, inputs: inputs, format: format, &g)
        let bias = randomValues(outputs, &g)
        let x = randomValues(slots.count * inputs, &g)
        let run = { (policy: GroupMergePolicy) -> [Float] in
            bank.groupMergePolicy = policy
            var y = [Float](repeating: .nan, count: slots.count * outputs)
            x.withUnsafeBufferPointer { x in
                bias.withUnsafeBufferPointer { b in
                    slots.withUnsafeBufferPointer { s in
                        y.withUnsafeMutableBufferPointer { y in
                            bank.linear(layer: 0, module: module, weight: weight, bias: b.baseAddress!, input: x.baseAddress!,
                                        tokens: slots.count, slots: s.baseAddress!, output: y.baseAddress!)
                        }
                    }
                }
            }
            return y
        }
        let before = bank.mergedGroupProducts
        let expanded = run(.never)
        #expect(bank.mergedGroupProducts == before)
        let withMerge = run(.always)
        #expect(bank.mergedGroupProducts == before + 2, "the group and the rank-5 fLoRA group merge")
        let error = maxRelativeError(withMerge, expanded, rows: slots.count)
        #expect(error < 1e-5, "\(format) \(module.rawValue) rank \(testCase.rank), \(testCase.groupTokens) tokens: relative error \(error)")
    }
}

@Test("Measured costs keep decode's one token per adapter on the row expansion and merge several sequences of one adapter")
func decodeKeepsExpansionUnlessSequencesShareAnAdapter() throws {
    var g = SeededGenerator(seed: 99)
    let shapes = try smolLM2Shapes()
    let bank = try AdapterBank(capacity: 9, shapes: shapes)
    bank.groupMergePolicy = .measured
    let adapters = try (0..<8).map {
        try bank.install(AdapterWeights.initialized(name: "a\($0)", kind: .flora, rank: 64, targets: [.qProj], shapes: shapes, seed: UInt64($0), random: true))
    }
    let layer = TestLayer(inputs: 576, outputs: 576, withBias: false, &g)
    let x = randomValues(8 * 576, &g)

    let decode = layer.run(bank, layer: 0, module: .qProj, x: x, slots: adapters)
    #expect(bank.mergedGroupProducts == 0, "one token per adapter: the row expansion")
    bank.groupMergePolicy = .never
    #expect(layer.run(bank, layer: 0, module: .qProj, x: x, slots: adapters) == decode)

    #expect(bank.groupMergeCosts(for: .qProj) == nil, "single-token groups are decided without measuring")
    bank.groupMergePolicy = .measured
    let shared = [AdapterSlot](repeating: adapters[0], count: 8)
    _ = layer.run(bank, layer: 0, module: .qProj, x: x, slots: shared)
    let costs = try #require(bank.groupMergeCosts(for: .qProj))
    for rank in [1, 2, 8, 16, 64] { #expect(!costs.prefersMerge(tokens: 1, rank: rank)) }
    #expect(bank.mergedGroupProducts == 1, "eight sequences of one rank-64 adapter share a merged weight (costs \(costs))")
}

@Test("The cost model merges when the expanded rows outweigh one merge and the group's rows")
func costModelDecision() {
    let costs = GroupMergeCosts(expandedRow: 1, mergedRow: 1, mergeFixed: 10, mergePerRank: 1)
    #expect(!costs.prefersMerge(tokens: 1, rank: 64))
    #expect(!costs.prefersMerge(tokens: 100, rank: 1))
    #expect(!costs.prefersMerge(tokens: 2, rank: 8))   // 16 rows against 10 + 8 + 2
    #expect(costs.prefersMerge(tokens: 3, rank: 8))    // 24 against 21
    #expect(costs.prefersMerge(tokens: 512, rank: 2))  // 1024 against 524
}

@Test("The cost model keeps a formed W' when one pass over it costs less than the expanded rows it replaces")
func keptCostDecision() {
    // A pass counts twice (GroupMergeCosts.passContention).
    let costs = GroupMergeCosts(expandedRow: 1, mergedRow: 1, mergeFixed: 10, mergePerRank: 1, mergedPass: 5)
    #expect(!costs.prefersKept(tokens: 1, rank: 8))    // 8 rows against 2·5 + 1
    #expect(costs.prefersKept(tokens: 1, rank: 16))    // 16 against 11
    #expect(!costs.prefersKept(tokens: 1, rank: 1))
    #expect(costs.prefersKept(tokens: 4, rank: 4))     // 16 against 14
    #expect(!costs.prefersKept(tokens: 4, rank: 3))    // 12 against 14
}

/// A bank of eight rank-64 and one rank-8 fLoRA adapters on q of SmolLM2's shapes, deciding with
/// fixed costs under which a kept W' pays from rank 16 up.
private func keptBank(budgetEntries: Int, _ g: inout SeededGenerator) throws -> (AdapterBank, [AdapterSlot], AdapterSlot, TestLayer) {
    let shapes = try smolLM2Shapes()
    let bank = try AdapterBank(capacity: 10, shapes: shapes)
    bank.groupMergePolicy = .measured
    bank.setGroupMergeCosts(GroupMergeCosts(expandedRow: 1, mergedRow: 1, mergeFixed: 10, mergePerRank: 1, mergedPass: 10), for: .qProj)
    let high = try (0..<8).map {
        try bank.install(AdapterWeights.initialized(name: "a\($0)", kind: .flora, rank: 64, targets: [.qProj], shapes: shapes, seed: UInt64($0), random: true))
    }
    let low = try bank.install(AdapterWeights.initialized(name: "low", kind: .flora, rank: 8, targets: [.qProj], shapes: shapes, seed: 77, random: true))
    let layer = TestLayer(inputs: 576, outputs: 576, withBias: true, &g)
    bank.mergedWeightBudget = budgetEntries * MatMul.mergedPanelFloats(layer.packed) * MemoryLayout<Float>.stride
    return (bank, high, low, layer)
}

/// One decode step (a forward pass: `prepare`, then the layer) of `slots`.
private func step(_ bank: AdapterBank, _ layer: TestLayer, x: [Float], slots: [AdapterSlot]) throws -> [Float] {
    try slots.withUnsafeBufferPointer { try bank.prepare(slots: $0.baseAddress!, tokens: slots.count) }
    return layer.run(bank, layer: 0, module: .qProj, x: x, slots: slots)
}

@Test("Decode keeps each high-rank adapter's W' after its first step and reads it from then on, equal to the expansion within 1e-5")
func keptWeightsServeLaterDecodeSteps() throws {
    var g = SeededGenerator(seed: 5)
    let (bank, high, low, layer) = try keptBank(budgetEntries: 16, &g)
    let slots = high + [low, AdapterBank.noAdapter]
    let x = randomValues(slots.count * 576, &g)
    let expected = layer.reference(bank, layer: 0, module: .qProj, x: x, slots: slots)

    let first = try step(bank, layer, x: x, slots: slots)
    #expect(bank.mergedGroupProducts == 8 && bank.keptMergedGroupProducts == 0, "the first step forms the eight rank-64 weights")
    #expect(bank.mergedWeightBytes == 8 * MatMul.mergedPanelFloats(layer.packed) * 4)
    for _ in 0..<2 {
        let later = try step(bank, layer, x: x, slots: slots)
        #expect(maxRelativeError(later, expected, rows: slots.count) < 1e-5)
        #expect(later == first, "a kept W' is the W' the first step formed")
    }
    #expect(bank.mergedGroupProducts == 24 && bank.keptMergedGroupProducts == 16, "later steps read the kept weights; rank 8 stays expanded")
    #expect(maxRelativeError(first, expected, rows: slots.count) < 1e-5)
}

@Test("A full budget keeps the adapters that came first and expands the rest, instead of evicting one another every step")
func fullBudgetDoesNotThrash() throws {
    var g = SeededGenerator(seed: 6)
    let (bank, high, _, layer) = try keptBank(budgetEntries: 3, &g)
    let x = randomValues(high.count * 576, &g)
    let expected = layer.reference(bank, layer: 0, module: .qProj, x: x, slots: high)
    for _ in 0..<4 {
        let y = try step(bank, layer, x: x, slots: high)
        #expect(maxRelativeError(y, expected, rows: high.count) < 1e-5)
    }
    #expect(bank.mergedGroupProducts == 12 && bank.keptMergedGroupProducts == 9, "three kept weights, formed once, read three times")

    // Adapters that stop decoding for two passes make room for others.
    let others = Array(high[3...])
    let xOthers = Array(x[(3 * 576)...])
    for _ in 0..<3 { _ = try step(bank, layer, x: xOthers, slots: others) }
    #expect(bank.keptMergedGroupProducts > 9, "once the first three have left, three of the others are kept")
    #expect(bank.mergedWeightBytes <= bank.mergedWeightBudget)
}

@Test("An adapter installed in a slot whose adapter had a kept W' is served with its own weights; a zero budget frees all")
func reusedSlotDropsKeptWeights() throws {
    var g = SeededGenerator(seed: 7)
    let (bank, high, _, layer) = try keptBank(budgetEntries: 16, &g)
    let slots = [high[0]]
    let x = randomValues(576, &g)
    _ = try step(bank, layer, x: x, slots: slots)
    #expect(bank.mergedWeightBytes > 0)
    let removed = try #require(bank.remove(high[0]))
    #expect(bank.mergedWeightBytes == 0, "the removed adapter's W' is gone with it")
    let replacement = try AdapterWeights.initialized(
        name: "new", kind: .flora, rank: 64, targets: [.qProj], shapes: removed.shapes, seed: 1234, random: true)
    try bank.install(replacement, at: high[0])
    let y = try step(bank, layer, x: x, slots: slots)
    let expected = layer.reference(bank, layer: 0, module: .qProj, x: x, slots: slots)
    #expect(maxRelativeError(y, expected, rows: 1) < 1e-5)
    _ = try step(bank, layer, x: x, slots: high[1...3].map { $0 })
    #expect(bank.mergedWeightBytes > 0)
    bank.mergedWeightBudget = 0
    #expect(bank.mergedWeightBytes == 0)
}
