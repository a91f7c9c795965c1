// Adapter mixtures against a dense merge of their parts computed here, in doubles, from the
// formulas of AdapterMixture.swift's header: the mixture's single product must equal it.

import FloraAdapters
import FloraTensor
import Testing

/// `y = W' x + b'` of the mixture at one module, with W' and b' merged densely from the parts.
private func denseMixture(
    _ parts: [(AdapterWeights, Float)], layer: Int, module: TargetModule, base: TestLayer, x: [Float], tokens: Int
) -> [Float] {
    let (n, k) = (base.outputs, base.inputs)
    var w = base.weight.map(Double.init)
    var b = base.bias.map { $0.map(Double.init) } ?? [Double](repeating: 0, count: n)
    let present = parts.compactMap { part in part.0.module(layer: layer, module).map { ($0, Double(part.1)) } }
    let identity = 1 - present.reduce(0) { $0 + $1.1 }
    func product(_ f: (a: [Float], bT: UnsafePointer<Float>, rank: Int), _ o: Int, _ p: Int) -> Double {
        (0..<f.rank).reduce(0) { $0 + Double(f.bT[$1 * n + o]) * Double(f.a[$1 * k + p]) }
    }
    switch present.first?.0 {
    case nil: break
    case .lora:
        for (m, weight) in present {
            guard case .lora(let f) = m else { continue }
            let factors = (f.a.toArray(), UnsafePointer(f.bTransposed.pointer), f.rank)
            for o in 0..<n { for p in 0..<k { w[o * k + p] += weight * Double(f.scale) * product(factors, o, p) } }
        }
    case .flora:
        var m = [Double](repeating: identity, count: n * k)
        for (module, weight) in present {
            guard case .flora(let f) = module else { continue }
            let factors = (f.a.toArray(), UnsafePointer(f.bTransposed.pointer), f.rank)
            for o in 0..<n { for p in 0..<k { m[o * k + p] += weight * product(factors, o, p) / Double(f.rank) } }
        }
        for i in 0..<w.count { w[i] *= m[i] }
    case .ia3(let first):
        var l = [Double](repeating: identity, count: first.l.count)
        for (module, weight) in present {
            guard case .ia3(let v) = module else { continue }
            for i in 0..<l.count { l[i] += weight * Double(v.l.pointer[i]) }
        }
        for o in 0..<n { for p in 0..<k { w[o * k + p] *= first.feedForward ? l[p] : l[o] } }
        if !first.feedForward { for o in 0..<n { b[o] *= l[o] } }
    case .dora, .road:
        Issue.record("mixtures of DoRA and RoAd are refused, not merged")
    }
    var y = [Float](repeating: 0, count: tokens * n)
    for t in 0..<tokens {
        for o in 0..<n {
            var sum = b[o]
            for p in 0..<k { sum += w[o * k + p] * Double(x[t * k + p]) }
            y[t * n + o] = Float(sum)
        }
    }
    return y
}

@Test("A mixture runs as one adapter and equals the dense merge of its parts", arguments: [AdapterKind.flora, .lora, .ia3])
func mixtureEqualsDenseMerge(kind: AdapterKind) throws {
    var g = SeededGenerator(seed: 21)
    let shapes = try tinyShapes(layers: 2)
    let ffn: [TargetModule] = kind == .ia3 ? [.upProj, .downProj] : []
    let a = try AdapterWeights.initialized(
        name: "a", kind: kind, rank: 2, targets: [.qProj, .vProj, .upProj], shapes: shapes, seed: 22, random: true, alpha: 4, feedForward: ffn)
    let b = try AdapterWeights.initialized(
        name: "b", kind: kind, rank: 3, targets: [.qProj, .oProj, .upProj], shapes: shapes, seed: 23, random: true, alpha: 8,
        useRSLoRA: true, feedForward: ffn)
    let mixtures: [[(AdapterWeights, Float)]] = [[(a, 0.7), (b, 0.3)], [(a, 0.5), (b, -0.25)], [(b, 0.5)], [(a, 1)]]
    for parts in mixtures {
        let name = try AdapterMixture(parts.map { .init(name: $0.0.name, weight: $0.1) }).name
        let mixed = try AdapterWeights.mixing(parts.map { (adapter: $0.0, weight: $0.1) }, name: name)
        #expect(mixed.kind == kind && mixed.name == name)
        let bank = try AdapterBank(capacity: 1, shapes: shapes)
        let slot = try bank.install(mixed)
        for layer in 0..<shapes.layers {
            for module in [TargetModule.qProj, .vProj, .oProj, .upProj, .kProj] {
                let base = TestLayer(inputs: shapes.inputs(module), outputs: shapes.outputs(module), withBias: true, &g)
                let slots = [slot, slot, slot]
                let x = randomValues(slots.count * base.inputs, &g)
                let y = base.run(bank, layer: layer, module: module, x: x, slots: slots)
                let expected = denseMixture(parts, layer: layer, module: module, base: base, x: x, tokens: slots.count)
                let error = maxRelativeError(y, expected, rows: slots.count)
                #expect(error < 1e-4, "\(name) layer \(layer) \(module.rawValue): relative error \(error)")
            }
        }
    }
}

@Test("A mixture names its parts canonically and refuses what it cannot be")
func mixtureRefusals() throws {
    let mixture = try AdapterMixture([.init(name: "b", weight: 0.3), .init(name: "a", weight: 0.7)])
    #expect(mixture.name == "a*0.7+b*0.3")
    #expect(throws: AdapterError.self) { try AdapterMixture([]) }
    #expect(throws: AdapterError.self) { try AdapterMixture([.init(name: "a", weight: 1), .init(name: "a", weight: 2)]) }
    #expect(throws: AdapterError.self) { try AdapterMixture([.init(name: "a", weight: .nan)]) }
    #expect(throws: AdapterError.self) { try AdapterMixture((0...AdapterMixture.maxParts).map { .init(name: "a\($0)", weight: 0.1) }) }

    let shapes = try tinyShapes(layers: 1)
    let flora = try AdapterWeights.initialized(name: "f", kind: .flora, rank: 1, targets: [.qProj], shapes: shapes, seed: 1)
    let lora = try AdapterWeights.initialized(name: "l", kind: .lora, rank: 1, targets: [.qProj], shapes: shapes, seed: 2)
    do {
        _ = try AdapterWeights.mixing([(flora, 0.5), (lora, 0.5)], name: "f*0.5+l*0.5")
        Issue.record("mixing fLoRA with LoRA should have thrown")
    } catch let error as AdapterError {
        #expect("\(error)".contains("adapters of one kind") && "\(error)".contains("'l' of kind lora"))
    }
    let input = try AdapterWeights.initialized(name: "i", kind: .ia3, rank: 1, targets: [.upProj], shapes: shapes, seed: 3, feedForward: [.upProj])
    let output = try AdapterWeights.initialized(name: "o", kind: .ia3, rank: 1, targets: [.upProj], shapes: shapes, seed: 4, feedForward: [])
    #expect(throws: AdapterError.self) { try AdapterWeights.mixing([(input, 0.5), (output, 0.5)], name: "i*0.5+o*0.5") }
}
