// One forward pass over a Batch: embed → per block (RMSNorm → q,k,v → rotary → paged
// attention → o → residual; RMSNorm → SwiGLU MLP → residual) → final RMSNorm and LM head
// for the tokens whose logits are wanted.

import FloraAdapters
import FloraTensor

extension LlamaModel {
    public func forward(
        _ batch: Batch, cache: PagedKVCache, scratch: ForwardScratch, adapters: AdapterBank?
    ) throws -> Logits {
        let c = config
        let linear = try beginForward(batch, cache: cache, scratch: scratch, adapters: adapters)
        let hidden = scratch.hidden.pointer       // [T, hidden]
        for (i, token) in batch.tokens.enumerated() {
            embedding.copyRow(Int(token), into: hidden + i * c.hiddenSize)
        }
        linear.adaptEmbeddings(batch, hidden: hidden)
        for (index, layer) in layers.enumerated() {
            attentionBlock(layer, index: index, batch: batch, cache: cache, scratch: scratch, linear: linear)
            mlpBlock(layer, index: index, scratch: scratch, linear: linear)
        }

        return headLogits(batch, hidden: hidden, head: lmHead, scratch: scratch, linear: linear) { row, normed in
            Elementwise.rmsNorm(row, weight: finalNorm.pointer, epsilon: c.rmsNormEpsilon, rows: 1, count: c.hiddenSize, into: normed)
        }
    }

    private func attentionBlock(
        _ layer: LlamaLayer, index: Int, batch: Batch, cache: PagedKVCache, scratch: ForwardScratch, linear: LinearLayers
    ) {
        let c = config
        let t = batch.tokenCount
        let hidden = scratch.hidden.pointer, normed = scratch.normed.pointer
        Elementwise.rmsNorm(hidden, weight: layer.attentionNorm.pointer, epsilon: c.rmsNormEpsilon, rows: t, count: c.hiddenSize, into: normed)
        let q = scratch.query.pointer, k = scratch.key.pointer, v = scratch.value.pointer
        linear(index, .qProj, layer.query, bias: layer.queryBias, normed, into: q)  // [T, queryDim]
        linear(index, .kProj, layer.key, bias: layer.keyBias, normed, into: k)      // [T, kvDim]
        linear(index, .vProj, layer.value, bias: layer.valueBias, normed, into: v)  // [T, kvDim]
        for i in 0..<t {
            let position = Int(batch.positions[i])
            rotary.apply(q + i * c.queryDim, heads: c.headCount, position: position)
            rotary.apply(k + i * c.kvDim, heads: c.kvHeadCount, position: position)
        }
        cache.store(layer: index, batch: batch, keys: k, values: v)
        let attended = scratch.attention.pointer                                   // [T, queryDim]
        cache.attend(
            layer: index, batch: batch, queries: q, dimensions: c.dimensions, scale: 1 / Float(c.headDim).squareRoot(),
            scratch: scratch, into: attended)
        let projected = scratch.projected.pointer                                 // [T, hidden]
        linear(index, .oProj, layer.output, bias: nil, attended, into: projected)
        Elementwise.add(projected, into: hidden, count: t * c.hiddenSize)
    }

    private func mlpBlock(_ layer: LlamaLayer, index: Int, scratch: ForwardScratch, linear: LinearLayers) {
        let c = config
        let t = linear.tokens
        let hidden = scratch.hidden.pointer, normed = scratch.normed.pointer
        Elementwise.rmsNorm(hidden, weight: layer.mlpNorm.pointer, epsilon: c.rmsNormEpsilon, rows: t, count: c.hiddenSize, into: normed)
        let gate = scratch.gate.pointer, up = scratch.up.pointer                   // [T, intermediate]
        linear(index, .gateProj, layer.gate, bias: nil, normed, into: gate)
        linear(index, .upProj, layer.up, bias: nil, normed, into: up)
        Elementwise.siluMultiply(gate, up, count: t * c.intermediateSize)
        let projected = scratch.projected.pointer                                 // [T, hidden]
        linear(index, .downProj, layer.down, bias: nil, gate, into: projected)
        Elementwise.add(projected, into: hidden, count: t * c.hiddenSize)
    }
}
