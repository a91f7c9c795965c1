// The linear layers of the training pass, the same for every architecture: with capture through
// `TrainingLinear` (keeping what the backward needs), else through the adapter bank as serving
// runs them, or the plain product when no token of the batch has an adapter.

import FloraAdapters
import FloraModel
import FloraTensor

extension GradientEngine {
    /// `y = adapted(W) x + b` for every token of `batch`, `input` `[T, W.inputs]`, `y` `[T, W.outputs]`.
    func linearForward(
        _ layer: Int, _ module: TargetModule, weight: PackedMatrix, bias: Tensor?, input: UnsafeMutablePointer<Float>,
        batch: TrainingBatch, into y: UnsafeMutablePointer<Float>, capture: LinearCapture?
    ) {
        let t = batch.tokenCount
        if let capture {
            linear.forward(layer: layer, module: module, weight: weight, bias: bias, x: input, groups: batch.groups, tokens: t, into: y, capture: capture)
        } else if let bank, slots.contains(where: { $0 != AdapterBank.noAdapter }) {
            slots.withUnsafeBufferPointer { s in
                bank.linear(layer: layer, module: module, weight: weight, bias: bias.map { UnsafePointer($0.pointer) },
                            input: input, tokens: t, slots: s.baseAddress!, output: y)
            }
        } else {
            MatMul.multiply(input, rows: t, weight, into: y)
            if let bias {
                for i in 0..<t { Elementwise.add(bias.pointer, into: y + i * weight.outputs, count: weight.outputs) }
            }
        }
    }

    /// Adds the adapters' gradients at (this layer, `module`) from the output gradient `dy`, and
    /// with `dx` adds the input gradient there, `[T, W.inputs]`.
    func linearBackward(
        _ module: TargetModule, weight: PackedMatrix, bias: Tensor?, input: UnsafeMutablePointer<Float>, dy: UnsafeMutablePointer<Float>,
        tokens: Int, acts: LayerActivations, dx: UnsafeMutablePointer<Float>?
    ) {
        linear.backward(
            weight: weight, transposed: transposed.of(weight), bias: bias, x: input, dy: dy, tokens: tokens,
            capture: acts.captures[module.index], dx: dx)
    }
}
