// Helpers shared by the adapter tests: tiny model shapes, random data, error measures.

import FloraAdapters
import FloraTensor

/// A tiny Llama-shaped model whose dimensions are not multiples of 16 (so SIMD tails run).
func tinyShapes(layers: Int = 2) throws -> AdapterTargetShapes {
    try .llama(layers: layers, hiddenSize: 40, attentionHeads: 4, keyValueHeads: 2, headDimension: 10, intermediateSize: 56)
}

/// SmolLM2-135M's shapes: 30 layers, hidden 576, 9 heads × 64, 3 kv heads × 64, intermediate 1536.
func smolLM2Shapes() throws -> AdapterTargetShapes {
    try .llama(layers: 30, hiddenSize: 576, attentionHeads: 9, keyValueHeads: 3, headDimension: 64, intermediateSize: 1536)
}

func randomValues(_ count: Int, _ generator: inout SeededGenerator, scale: Float = 1) -> [Float] {
    (0..<count).map { _ in scale * generator.nextGaussian() }
}

/// Per token row: `max |y − reference| / max |reference|` (the row's scale, so that values near
/// zero do not inflate the measure); the largest over rows.
func maxRelativeError(_ y: [Float], _ reference: [Float], rows: Int) -> Float {
    let n = y.count / max(rows, 1)
    var worst: Float = 0
    for r in 0..<rows {
        var difference: Float = 0, scale: Float = 0
        for o in 0..<n {
            difference = max(difference, abs(y[r * n + o] - reference[r * n + o]))
            scale = max(scale, abs(reference[r * n + o]))
        }
        worst = max(worst, difference / max(scale, 1e-30))
    }
    return worst
}

/// A base layer with its weight kept in plain layout for the reference.
struct TestLayer {
    let weight: [Float]  // [outputs, inputs]
    let bias: [Float]?   // [outputs]
    let packed: PackedMatrix
    let inputs: Int
    let outputs: Int

    init(inputs: Int, outputs: Int, withBias: Bool, _ generator: inout SeededGenerator) {
        self.inputs = inputs
        self.outputs = outputs
        weight = randomValues(outputs * inputs, &generator, scale: 1 / Float(inputs).squareRoot())
        bias = withBias ? randomValues(outputs, &generator) : nil
        packed = weight.withUnsafeBufferPointer { PackedMatrix(weight: $0.baseAddress!, outputs: outputs, inputs: inputs) }
    }

    /// `bank.linear` on this layer.
    func run(_ bank: AdapterBank, layer: Int, module: TargetModule, x: [Float], slots: [AdapterSlot]) -> [Float] {
        var y = [Float](repeating: .nan, count: slots.count * outputs)
        withBias { bias in
            x.withUnsafeBufferPointer { x in
                slots.withUnsafeBufferPointer { s in
                    y.withUnsafeMutableBufferPointer { y in
                        bank.linear(
                            layer: layer, module: module, weight: packed, bias: bias, input: x.baseAddress!,
                            tokens: slots.count, slots: s.baseAddress!, output: y.baseAddress!)
                    }
                }
            }
        }
        return y
    }

    /// `AdapterReference.linear` with each token's adapter as the bank holds it.
    func reference(_ bank: AdapterBank, layer: Int, module: TargetModule, x: [Float], slots: [AdapterSlot]) -> [Float] {
        let adapters = slots.map { bank.weights(at: $0)?.module(layer: layer, module) }
        return reference(adapters: adapters, x: x)
    }

    func reference(adapters: [AdapterModuleWeights?], x: [Float]) -> [Float] {
        var y = [Float](repeating: .nan, count: adapters.count * outputs)
        withBias { bias in
            weight.withUnsafeBufferPointer { w in
                x.withUnsafeBufferPointer { x in
                    y.withUnsafeMutableBufferPointer { y in
                        AdapterReference.linear(
                            weight: w.baseAddress!, outputs: outputs, inputs: inputs, bias: bias, input: x.baseAddress!,
                            tokens: adapters.count, adapters: adapters, output: y.baseAddress!)
                    }
                }
            }
        }
        return y
    }

    private func withBias(_ body: (UnsafePointer<Float>?) -> Void) {
        if let bias { bias.withUnsafeBufferPointer { body($0.baseAddress!) } } else { body(nil) }
    }
}

/// Deterministic random base weights for a model of `shapes` (what DoRA's norm reads), `W` of
/// (layer, module) drawn from its own seed with scale `1/√inputs`.
struct RandomBaseWeights: AdapterBaseWeights {
    let shapes: AdapterTargetShapes
    var seed: UInt64 = 99

    func adapterBaseWeight(layer: Int, module: TargetModule) -> Tensor? {
        guard shapes.has(module), layer < shapes.layers else { return nil }
        var g = SeededGenerator(seed: seed &+ UInt64(layer * TargetModule.count + module.index))
        let (n, k) = (shapes.outputs(module), shapes.inputs(module))
        return Tensor(shape: [n, k], values: randomValues(n * k, &g, scale: 1 / Float(k).squareRoot()))
    }
}
