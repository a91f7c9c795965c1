// An independent check of the batched formulas: each adapter folded into a dense weight
// (fLoRA `W ∘ (B A) / r`, LoRA `W + s · B A`, IA3 `W` with scaled rows or columns) and applied
// as one plain product must give what bank.linear gives, on the golden adapters at SmolLM2's shapes.

import FloraAdapters
import FloraTensor
import Foundation
import Testing

/// `W'` of `y = W' x + b'` for one module (bias handled by the caller: IA3 output scaling also scales b).
private func denseWeight(_ w: [Float], outputs n: Int, inputs k: Int, _ m: AdapterModuleWeights) -> [Double] {
    var merged = w.map(Double.init)
    switch m {
    case .flora(let f):
        let a = f.a.toArray(), b = f.b()
        for o in 0..<n {
            for p in 0..<k {
                var ba = 0.0
                for j in 0..<f.rank { ba += Double(b[o * f.rank + j]) * Double(a[j * k + p]) }
                merged[o * k + p] *= ba / Double(f.rank)
            }
        }
    case .lora(let f):
        let a = f.a.toArray(), b = f.b()
        for o in 0..<n {
            for p in 0..<k {
                var ba = 0.0
                for j in 0..<f.rank { ba += Double(b[o * f.rank + j]) * Double(a[j * k + p]) }
                merged[o * k + p] += Double(f.scale) * ba
            }
        }
    case .ia3(let v):
        let l = v.l.toArray()
        for o in 0..<n {
            for p in 0..<k { merged[o * k + p] *= Double(v.feedForward ? l[p] : l[o]) }
        }
    case .dora, .road:
        Issue.record("no dense merge for \(m.kind.rawValue) here")
    }
    return merged
}

@Test("bank.linear equals the dense merged weight for every golden adapter", arguments: ["flora_r1", "flora_r4", "lora_r8", "ia3"])
func goldenAdapterEqualsDenseMerge(folder: String) throws {
    let shapes = try smolLM2Shapes()
    let weights = try AdapterLoader.load(
        folder: URL(fileURLWithPath: goldenAdapters).appendingPathComponent(folder).path, name: folder, shapes: shapes)
    let bank = try AdapterBank(capacity: 1, shapes: shapes)
    let slot = try bank.install(weights)
    var g = SeededGenerator(seed: 77)
    let layerIndex = 29
    for module in weights.targets {
        let layer = TestLayer(inputs: shapes.inputs(module), outputs: shapes.outputs(module), withBias: true, &g)
        let (n, k) = (layer.outputs, layer.inputs)
        let slots = [slot, AdapterBank.noAdapter, slot]
        let x = randomValues(slots.count * k, &g)
        let y = layer.run(bank, layer: layerIndex, module: module, x: x, slots: slots)
        let m = try #require(weights.module(layer: layerIndex, module))
        let merged = denseWeight(layer.weight, outputs: n, inputs: k, m)
        var expected = [Float](repeating: 0, count: slots.count * n)
        for (t, s) in slots.enumerated() {
            for o in 0..<n {
                var sum = 0.0
                for p in 0..<k {
                    sum += (s == slot ? merged[o * k + p] : Double(layer.weight[o * k + p])) * Double(x[t * k + p])
                }
                var bias = Double(layer.bias![o])
                if s == slot, case .ia3(let v) = m, !v.feedForward { bias *= Double(v.l.pointer[o]) }
                expected[t * n + o] = Float(sum + bias)
            }
        }
        let error = maxRelativeError(y, expected, rows: slots.count)
        #expect(error < 1e-4, "\(folder) \(module.rawValue): relative error \(error)")
    }
}
