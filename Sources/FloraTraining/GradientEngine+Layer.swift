// One transformer block forward (as LlamaForward.swift computes it, over whole segments instead
// of the paged cache) and its backward, with gradients for the adapters only.

import FloraAdapters
import FloraModel
import FloraTensor

extension GradientEngine {
    /// `output = block(input)`, both `[T, hidden]`, leaving the activations in `acts`. With
    /// `capture` the linear layers run through `TrainingLinear` (keeping what their backward
    /// needs); without, through the adapter bank, as serving runs them.
    func forwardLayer(
        _ index: Int, batch: TrainingBatch, input x: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
        acts: LayerActivations, capture: Bool
    ) {
        let c = config, t = batch.tokenCount, w = model.layers[index]
        func linear(_ module: TargetModule, _ input: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>) {
            linearForward(index, module, weights: w, input: input, batch: batch, into: y, capture: capture ? acts.captures[module.index] : nil)
        }
        Elementwise.rmsNorm(
            x, weight: w.attentionNorm.pointer, epsilon: c.rmsNormEpsilon, rows: t, count: c.hiddenSize,
            into: acts.normed1.pointer, inverse: acts.inverse1.pointer)
        let q = acts.query.pointer, k = acts.key.pointer, v = acts.value.pointer
        linear(.qProj, acts.normed1.pointer, into: q)  // [T, queryDim]
        linear(.kProj, acts.normed1.pointer, into: k)  // [T, kvDim]
        linear(.vProj, acts.normed1.pointer, into: v)  // [T, kvDim]
        for i in 0..<t {
            let position = Int(batch.positions[i])
            rotary.apply(q + i * c.queryDim, heads: c.headCount, position: position)
            rotary.apply(k + i * c.kvDim, heads: c.kvHeadCount, position: position)
        }
        attention.forward(
            q: q, k: k, v: v, segments: batch.segments, out: acts.attention.pointer, lse: acts.lse.pointer)
        let projected = self.projected.pointer                         // [T, hidden]
        linear(.oProj, acts.attention.pointer, into: projected)
        let h = acts.residual.pointer                                  // [T, hidden]
        h.update(from: x, count: t * c.hiddenSize)
        Elementwise.add(projected, into: h, count: t * c.hiddenSize)

        Elementwise.rmsNorm(
            h, weight: w.mlpNorm.pointer, epsilon: c.rmsNormEpsilon, rows: t, count: c.hiddenSize,
            into: acts.normed2.pointer, inverse: acts.inverse2.pointer)
        linear(.gateProj, acts.normed2.pointer, into: acts.gate.pointer)  // [T, intermediate]
        linear(.upProj, acts.normed2.pointer, into: acts.up.pointer)      // [T, intermediate]
        TrainingKernels.swiGLU(gate: acts.gate.pointer, up: acts.up.pointer, count: t * c.intermediateSize, into: acts.activation.pointer)
        linear(.downProj, acts.activation.pointer, into: projected)
        output.update(from: h, count: t * c.hiddenSize)
        Elementwise.add(projected, into: output, count: t * c.hiddenSize)
    }

    private func linearForward(
        _ layer: Int, _ module: TargetModule, weights w: LlamaLayer, input: UnsafeMutablePointer<Float>, batch: TrainingBatch,
        into y: UnsafeMutablePointer<Float>, capture: LinearCapture?
    ) {
        let weight = w.linear(module), bias = w.bias(module), t = batch.tokenCount
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

    /// Given `dX` = the gradient at the block's output, adds every adapter's gradient in this block
    /// and, with `needsInputGradient`, leaves in `dX` the gradient at the block's input.
    func backwardLayer(
        _ index: Int, batch: TrainingBatch, input x: UnsafePointer<Float>, acts: LayerActivations, dX: UnsafeMutablePointer<Float>,
        needsInputGradient: Bool
    ) {
        let c = config, t = batch.tokenCount, w = model.layers[index]
        let d = c.hiddenSize, inter = c.intermediateSize
        func backward(_ module: TargetModule, input: UnsafeMutablePointer<Float>, dy: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?) {
            linear.backward(weight: w.linear(module), transposed: transposed.of(w.linear(module)), bias: w.bias(module), x: input, dy: dy, tokens: t,
                            capture: acts.captures[module.index], dx: dx)
        }
        // MLP: out = h + down(silu(gate(n2)) · up(n2)), n2 = rmsNorm(h).
        let dH = dAttentionBlock.pointer                               // [T, hidden]: d h
        dH.update(from: dX, count: t * d)
        let dAct = dIntermediate.pointer                               // [T, intermediate]
        dAct.update(repeating: 0, count: t * inter)
        backward(.downProj, input: acts.activation.pointer, dy: dX, dx: dAct)
        TrainingKernels.swiGLUBackward(
            dAct, gate: acts.gate.pointer, up: acts.up.pointer, count: t * inter, dGate: dAct, dUp: dUp.pointer)
        let dN = dNormed.pointer                                       // [T, hidden]
        dN.update(repeating: 0, count: t * d)
        backward(.gateProj, input: acts.normed2.pointer, dy: dAct, dx: dN)
        backward(.upProj, input: acts.normed2.pointer, dy: dUp.pointer, dx: dN)
        TrainingKernels.rmsNormBackward(
            dN, x: acts.residual.pointer, weight: w.mlpNorm.pointer, inverse: acts.inverse2.pointer, rows: t, count: d, addingInto: dH)

        // Attention: h = x + o(attention(rotary(q(n1)), rotary(k(n1)), v(n1))), n1 = rmsNorm(x).
        let dAttn = dAttention.pointer                                 // [T, queryDim]
        dAttn.update(repeating: 0, count: t * c.queryDim)
        backward(.oProj, input: acts.attention.pointer, dy: dH, dx: dAttn)
        let dq = dQuery.pointer, dk = dKey.pointer, dv = dValue.pointer
        attention.backward(
            dOut: dAttn, q: acts.query.pointer, k: acts.key.pointer, v: acts.value.pointer, out: acts.attention.pointer,
            lse: acts.lse.pointer, segments: batch.segments, dq: dq, dk: dk, dv: dv)
        for i in 0..<t {
            let position = Int(batch.positions[i])
            rotary.applyInverse(dq + i * c.queryDim, heads: c.headCount, position: position)
            rotary.applyInverse(dk + i * c.kvDim, heads: c.kvHeadCount, position: position)
        }
        let dN1: UnsafeMutablePointer<Float>? = needsInputGradient ? dN : nil
        dN1?.update(repeating: 0, count: t * d)
        backward(.qProj, input: acts.normed1.pointer, dy: dq, dx: dN1)
        backward(.kProj, input: acts.normed1.pointer, dy: dk, dx: dN1)
        backward(.vProj, input: acts.normed1.pointer, dy: dv, dx: dN1)
        guard let dN1 else { return }
        dX.update(from: dH, count: t * d)
        TrainingKernels.rmsNormBackward(
            dN1, x: x, weight: w.attentionNorm.pointer, inverse: acts.inverse1.pointer, rows: t, count: d, addingInto: dX)
    }
}
