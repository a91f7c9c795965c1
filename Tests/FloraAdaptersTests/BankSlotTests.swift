// Installing and removing adapters: slots are independent, refusals leave the bank unchanged.

import FloraAdapters
import FloraTensor
import Testing

@Test("Install takes the lowest free slot, remove frees it, and weights(at:) returns what was installed")
func installAndRemove() throws {
    let shapes = try tinyShapes()
    let bank = try AdapterBank(capacity: 3, shapes: shapes)
    let a = try AdapterWeights.initialized(name: "a", kind: .flora, rank: 2, targets: [.qProj], shapes: shapes, seed: 1)
    let b = try AdapterWeights.initialized(name: "b", kind: .lora, rank: 2, targets: [.qProj], shapes: shapes, seed: 2)
    let c = try AdapterWeights.initialized(name: "c", kind: .ia3, rank: 1, targets: [.kProj], shapes: shapes, seed: 3)
    #expect(try bank.install(a) == 0)
    #expect(try bank.install(b) == 1)
    #expect(bank.remove(0) === a)
    #expect(bank.remove(0) == nil)
    #expect(bank.weights(at: 0) == nil)
    #expect(try bank.install(c) == 0)
    #expect(bank.weights(at: 0) === c && bank.weights(at: 1) === b)
    #expect(bank.count == 2 && bank.occupiedSlots == [0, 1])
    #expect(bank.weights(at: -1) == nil && bank.weights(at: 7) == nil)
}

@Test("A full bank refuses an install and stays unchanged")
func fullBankRefuses() throws {
    let shapes = try tinyShapes()
    let bank = try AdapterBank(capacity: 1, shapes: shapes)
    let a = try AdapterWeights.initialized(name: "a", kind: .flora, rank: 1, targets: [.qProj], shapes: shapes, seed: 1)
    let b = try AdapterWeights.initialized(name: "b", kind: .flora, rank: 1, targets: [.qProj], shapes: shapes, seed: 2)
    _ = try bank.install(a)
    #expect(throws: AdapterError.bankFull(adapter: "b", capacity: 1)) { try bank.install(b) }
    #expect(bank.count == 1 && bank.weights(at: 0) === a)
}

@Test("An adapter built for other dimensions is refused and the bank stays unchanged")
func shapeMismatchRefused() throws {
    let bank = try AdapterBank(capacity: 2, shapes: try tinyShapes(layers: 2))
    let other = try AdapterWeights.initialized(name: "x", kind: .lora, rank: 2, targets: [.qProj], shapes: try tinyShapes(layers: 3), seed: 1)
    do {
        _ = try bank.install(other)
        Issue.record("install should have thrown")
    } catch let error as AdapterError {
        guard case .shapeMismatch(let name, let expected, let found) = error else { Issue.record("wrong error \(error)"); return }
        #expect(name == "x" && expected.contains("2 layers") && found.contains("3 layers"))
    }
    #expect(bank.count == 0)
}

@Test("prepare refuses a slot that is empty or out of range")
func prepareRefusesBadSlots() throws {
    let shapes = try tinyShapes()
    let bank = try AdapterBank(capacity: 2, shapes: shapes)
    _ = try bank.install(AdapterWeights.initialized(kind: .flora, rank: 1, targets: [.qProj], shapes: shapes, seed: 1))
    for bad: [AdapterSlot] in [[0, 1], [2], [-2, 0]] {
        #expect(throws: AdapterError.self) { try bad.withUnsafeBufferPointer { try bank.prepare(slots: $0.baseAddress!, tokens: bad.count) } }
    }
}

@Test("Removing and installing adapters leaves other slots' outputs untouched", arguments: LoRAKernel.allCases)
func otherSlotsUndisturbed(kernel: LoRAKernel) throws {
    var g = SeededGenerator(seed: 4)
    let shapes = try tinyShapes(layers: 1)
    let bank = try AdapterBank(capacity: 3, shapes: shapes)
    bank.loraKernel = kernel
    let kept = try bank.install(randomAdapter(&g, shapes: shapes, name: "kept"))
    let gone = try bank.install(AdapterWeights.initialized(
        name: "gone", kind: .lora, rank: 8, targets: TargetModule.llama, shapes: shapes, seed: 5, random: true))
    let keptLoRA = try bank.install(AdapterWeights.initialized(
        name: "keptLoRA", kind: .lora, rank: 4, targets: TargetModule.llama, shapes: shapes, seed: 6, random: true))
    let module = TargetModule.upProj
    let layer = TestLayer(inputs: shapes.inputs(module), outputs: shapes.outputs(module), withBias: true, &g)
    let x = randomValues(4 * layer.inputs, &g)
    let before = layer.run(bank, layer: 0, module: module, x: x, slots: [kept, gone, keptLoRA, AdapterBank.noAdapter])
    bank.remove(gone)
    _ = try bank.install(AdapterWeights.initialized(
        name: "new", kind: .flora, rank: 3, targets: [.upProj], shapes: shapes, seed: 7, random: true))
    let after = layer.run(bank, layer: 0, module: module, x: x, slots: [kept, gone, keptLoRA, AdapterBank.noAdapter])
    let n = layer.outputs
    #expect(Array(before[0..<n]) == Array(after[0..<n]))
    #expect(Array(before[2 * n..<4 * n]) == Array(after[2 * n..<4 * n]))
    #expect(Array(before[n..<2 * n]) != Array(after[n..<2 * n]))  // slot 1 now holds the new adapter
}

@Test("A plan kept across forward passes (same slots) follows every install and remove", arguments: LoRAKernel.allCases)
func keptPlanFollowsChanges(kernel: LoRAKernel) throws {
    var g = SeededGenerator(seed: 8)
    let shapes = try tinyShapes(layers: 2)
    let bank = try AdapterBank(capacity: 2, shapes: shapes)
    bank.loraKernel = kernel
    _ = try bank.install(AdapterWeights.initialized(
        name: "first", kind: .flora, rank: 3, targets: TargetModule.llama, shapes: shapes, seed: 11, random: true))
    _ = try bank.install(AdapterWeights.initialized(
        name: "lora", kind: .lora, rank: 2, targets: TargetModule.llama, shapes: shapes, seed: 9, random: true))
    let slots: [AdapterSlot] = [0, 1, AdapterBank.noAdapter, 0]
    let layers = TargetModule.llama.map { ($0, TestLayer(inputs: shapes.inputs($0), outputs: shapes.outputs($0), withBias: false, &g)) }
    let inputs = layers.map { randomValues(slots.count * $0.1.inputs, &g) }
    func forward() {
        // One "forward pass": prepare once, then every (layer, module) with the same slots.
        slots.withUnsafeBufferPointer { try! bank.prepare(slots: $0.baseAddress!, tokens: slots.count) }
        for layer in 0..<shapes.layers {
            for ((module, base), x) in zip(layers, inputs) {
                let y = base.run(bank, layer: layer, module: module, x: x, slots: slots)
                let reference = base.reference(bank, layer: layer, module: module, x: x, slots: slots)
                #expect(maxRelativeError(y, reference, rows: slots.count) < 1e-5, "layer \(layer) \(module)")
            }
        }
    }
    forward()
    forward()
    bank.remove(0)
    _ = try bank.install(AdapterWeights.initialized(
        name: "second", kind: .ia3, rank: 1, targets: [.qProj, .downProj], shapes: shapes, seed: 10, random: true), at: 0)
    forward()
    forward()
}
