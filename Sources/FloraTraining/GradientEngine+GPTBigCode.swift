// The GPTBigCode (StarCoder) block's training forward (as GPTBigCode.swift computes it, over
// whole segments instead of the paged cache) and its backward, with gradients for the adapters
// only: LayerNorm → c_attn → split into q, k, v → causal attention (one shared key/value head
// when multi-query, no rotary) → attn.c_proj → residual; LayerNorm → c_fc → GELU → mlp.c_proj
// → residual. Embedding: wte[token] + wpe[position], positions from 0 in every segment. Final
// norm: LayerNorm with bias (ln_f).

import FloraAdapters
import FloraModel
import FloraTensor

extension GradientEngine {
    func embed(_ model: GPTBigCodeModel, _ batch: TrainingBatch, into residual: UnsafeMutablePointer<Float>) {
        let d = dimensions.hiddenSize, wte = embeddingTable.pointer, wpe = model.positionEmbedding.pointer
        for (i, token) in batch.tokens.enumerated() {
            (residual + i * d).update(from: wte + Int(token) * d, count: d)
            Elementwise.add(wpe + Int(batch.positions[i]) * d, into: residual + i * d, count: d)
        }
    }

    func forwardBlock(
        _ model: GPTBigCodeModel, _ index: Int, batch: TrainingBatch, input x: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
        acts: LayerActivations, capture: Bool
    ) {
        let c = model.config, t = batch.tokenCount, w = model.layers[index], d = c.hiddenSize
        func linear(
            _ module: TargetModule, _ weight: PackedMatrix, _ bias: Tensor, _ input: UnsafeMutablePointer<Float>,
            into y: UnsafeMutablePointer<Float>
        ) {
            linearForward(
                index, module, weight: weight, bias: bias, input: input, batch: batch, into: y,
                capture: capture ? acts.captures[module.index] : nil)
        }
        Elementwise.layerNorm(
            x, weight: w.attentionNorm.pointer, bias: w.attentionNormBias.pointer, epsilon: c.layerNormEpsilon, rows: t, count: d,
            into: acts.normed1.pointer, mean: acts.mean1.pointer, inverse: acts.inverse1.pointer)
        let fused = fusedQKV.pointer                                   // [T, hidden + 2·kvDim]
        linear(.cAttn, w.fusedQKV, w.fusedQKVBias, acts.normed1.pointer, into: fused)
        let q = acts.query.pointer, k = acts.key.pointer, v = acts.value.pointer  // [T, hidden], [T, kvDim] ×2
        c.splitFusedQKV(fused, tokens: t, queries: q, keys: k, values: v)
        attention.forward(q: q, k: k, v: v, segments: batch.segments, out: acts.attention.pointer, lse: acts.lse.pointer)
        let projected = self.projected.pointer                         // [T, hidden]
        linear(.attnCProj, w.output, w.outputBias, acts.attention.pointer, into: projected)
        let h = acts.residual.pointer                                  // [T, hidden]
        h.update(from: x, count: t * d)
        Elementwise.add(projected, into: h, count: t * d)

        Elementwise.layerNorm(
            h, weight: w.mlpNorm.pointer, bias: w.mlpNormBias.pointer, epsilon: c.layerNormEpsilon, rows: t, count: d,
            into: acts.normed2.pointer, mean: acts.mean2.pointer, inverse: acts.inverse2.pointer)
        let preActivation = acts.gate.pointer, activation = acts.activation.pointer  // [T, inner] each
        linear(.cFc, w.fc, w.fcBias, acts.normed2.pointer, into: preActivation)
        activation.update(from: preActivation, count: t * c.innerSize)
        Elementwise.gelu(activation, count: t * c.innerSize, form: c.activation)
        linear(.mlpCProj, w.projection, w.projectionBias, activation, into: projected)
        output.update(from: h, count: t * d)
        Elementwise.add(projected, into: output, count: t * d)
    }

    func backwardBlock(
        _ model: GPTBigCodeModel, _ index: Int, batch: TrainingBatch, input x: UnsafePointer<Float>, acts: LayerActivations,
        dX: UnsafeMutablePointer<Float>, needsInputGradient: Bool
    ) {
        let c = model.config, t = batch.tokenCount, w = model.layers[index], d = c.hiddenSize, inner = c.innerSize
        func backward(
            _ module: TargetModule, _ weight: PackedMatrix, _ bias: Tensor, input: UnsafeMutablePointer<Float>,
            dy: UnsafeMutablePointer<Float>, dx: UnsafeMutablePointer<Float>?
        ) {
            linearBackward(module, weight: weight, bias: bias, input: input, dy: dy, tokens: t, acts: acts, dx: dx)
        }
        // MLP: out = h + c_proj(gelu(c_fc(n2))), n2 = layerNorm(h).
        let dH = dAttentionBlock.pointer                               // [T, hidden]: d h
        dH.update(from: dX, count: t * d)
        let dInner = dIntermediate.pointer                             // [T, inner]: d gelu, then d c_fc
        dInner.update(repeating: 0, count: t * inner)
        backward(.mlpCProj, w.projection, w.projectionBias, input: acts.activation.pointer, dy: dX, dx: dInner)
        TrainingKernels.geluBackward(dInner, preActivation: acts.gate.pointer, count: t * inner, form: c.activation, into: dInner)
        let dN = dNormed.pointer                                       // [T, hidden]
        dN.update(repeating: 0, count: t * d)
        backward(.cFc, w.fc, w.fcBias, input: acts.normed2.pointer, dy: dInner, dx: dN)
        TrainingKernels.layerNormBackward(
            dN, x: acts.residual.pointer, weight: w.mlpNorm.pointer, mean: acts.mean2.pointer, inverse: acts.inverse2.pointer,
            rows: t, count: d, addingInto: dH)

        // Attention: h = x + c_proj(attention(split(c_attn(n1)))), n1 = layerNorm(x). c_attn's
        // output gradient is dq, dk, dv laid out as the split read them.
        let dAttn = dAttention.pointer                                 // [T, hidden]
        dAttn.update(repeating: 0, count: t * d)
        backward(.attnCProj, w.output, w.outputBias, input: acts.attention.pointer, dy: dH, dx: dAttn)
        let dq = dQuery.pointer, dk = dKey.pointer, dv = dValue.pointer
        attention.backward(
            dOut: dAttn, q: acts.query.pointer, k: acts.key.pointer, v: acts.value.pointer, out: acts.attention.pointer,
            lse: acts.lse.pointer, segments: batch.segments, dq: dq, dk: dk, dv: dv)
        let dFused = dFusedQKV.pointer                                 // [T, hidden + 2·kvDim]
        c.joinFusedQKV(queries: dq, keys: dk, values: dv, tokens: t, into: dFused)
        let dN1: UnsafeMutablePointer<Float>? = needsInputGradient ? dN : nil
        dN1?.update(repeating: 0, count: t * d)
        backward(.cAttn, w.fusedQKV, w.fusedQKVBias, input: acts.normed1.pointer, dy: dFused, dx: dN1)
        guard let dN1 else { return }
        dX.update(from: dH, count: t * d)
        TrainingKernels.layerNormBackward(
            dN1, x: x, weight: w.attentionNorm.pointer, mean: acts.mean1.pointer, inverse: acts.inverse1.pointer, rows: t, count: d,
            addingInto: dX)
    }

    /// LayerNorm with ln_f's weight and bias.
    func finalNorm(
        _ model: GPTBigCodeModel, _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>,
        mean: UnsafeMutablePointer<Float>, inverse: UnsafeMutablePointer<Float>
    ) {
        Elementwise.layerNorm(
            x, weight: model.finalNorm.pointer, bias: model.finalNormBias.pointer, epsilon: model.config.layerNormEpsilon, rows: rows,
            count: dimensions.hiddenSize, into: y, mean: mean, inverse: inverse)
    }

    func finalNormBackward(
        _ model: GPTBigCodeModel, _ dy: UnsafePointer<Float>, x: UnsafePointer<Float>, mean: UnsafePointer<Float>,
        inverse: UnsafePointer<Float>, rows: Int, addingInto dx: UnsafeMutablePointer<Float>
    ) {
        TrainingKernels.layerNormBackward(
            dy, x: x, weight: model.finalNorm.pointer, mean: mean, inverse: inverse, rows: rows, count: dimensions.hiddenSize,
            addingInto: dx)
    }
}
