// The Llama block's training forward (as LlamaForward.swift computes it, over whole segments
// instead of the paged cache) and its backward, with gradients for the adapters only:
// RMSNorm → q, k, v → rotary → causal attention → o → residual; RMSNorm → SwiGLU → down →
// residual. Embedding: the token's row alone (positions enter through rotary). Final norm: RMSNorm.

import FloraAdapters
import FloraModel
import FloraTensor

extension GradientEngine {
    func embed(_ model: LlamaModel, _ batch: TrainingBatch, into residual: UnsafeMutablePointer<Float>) {
        let d = dimensions.hiddenSize, embedding = embeddingTable.pointer
        for (i, token) in batch.tokens.enumerated() {
            (residual + i * d).update(from: embedding + Int(token) * d, count: d)
        }
    }

    func forwardBlock(
        _ model: LlamaModel, _ index: Int, batch: TrainingBatch, input x: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
        acts: LayerActivations, capture: Bool
    ) {
        let c = model.config, t = batch.tokenCount, w = model.layers[index], rotary = model.rotary
        func linear(_ module: TargetModule, _ input: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>) {
            linearForward(
                index, module, weight: w.linear(module), bias: w.bias(module), input: input, batch: batch, into: y,
                capture: capture ? acts.captures[module.index] : nil)
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

    func backwardBlock(
        _ model: LlamaModel, _ index: Int, batch: TrainingBatch, input x: UnsafePointer<Float>, acts: LayerActivations,
        dX: UnsafeMutablePointer<Float>, needsInputGradient: Bool
    ) {
        let c = model.config, t = batch.tokenCount, w = model.layers[index], rotary = model.rotary
        let d = c.hiddenSize, inter = c.intermediateSize
        func backward(_ module: TargetModule, input: UnsafeMutablePointer<Float>, dy: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?) {
            linearBackward(module, weight: w.linear(module), bias: w.bias(module), input: input, dy: dy, tokens: t, acts: acts, dx: dx)
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

    /// RMSNorm with `model.norm`; `mean` is not used.
    func finalNorm(
        _ model: LlamaModel, _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
        inverse: UnsafeMutablePointer<Float>
    ) {
        Elementwise.rmsNorm(
            x, weight: model.finalNorm.pointer, epsilon: model.config.rmsNormEpsilon, rows: rows, count: dimensions.hiddenSize,
            into: y, inverse: inverse)
    }

    func finalNormBackward(
        _ model: LlamaModel, _ dy: UnsafePointer<Float>, x: UnsafePointer<Float>, mean: UnsafePointer<Float>, inverse: UnsafePointer<Float>,
        rows: Int, addingInto dx: UnsafeMutablePointer<Float>
    ) {
        TrainingKernels.rmsNormBackward(
            dy, x: x, weight: model.finalNorm.pointer, inverse: inverse, rows: rows, count: dimensions.hiddenSize, addingInto: dx)
    }
}
