// One forward pass over a Batch: embed → per block (RMSNorm → q,k,v → rotary → paged
// attention → o → residual; RMSNorm → SwiGLU MLP → residual) → final RMSNorm and LM head
// for the tokens whose logits are wanted.

import FloraTensor

extension LlamaModel {
    /// Runs `batch` and returns the logits of `batch.logitTokens`, `[L, vocab]`, in `scratch`
    /// (valid until the next forward with the same scratch). Writes the batch's keys and values
    /// into `cache` at the blocks its block tables name.
    public func forward(_ batch: Batch, cache: PagedKVCache, scratch: ForwardScratch) throws -> UnsafeMutableBufferPointer<Float> {
        let c = config
        try batch.validate(vocabularySize: c.vocabularySize, blockSize: cache.blockSize, blockCount: cache.blockCount)
        if let beyond = batch.positions.first(where: { Int($0) >= c.contextLength }) {
            throw ModelError.invalidBatch("position \(beyond) is beyond the context length \(c.contextLength)")
        }
        guard cache.layerCount == c.layerCount, cache.kvHeadCount == c.kvHeadCount, cache.headDim == c.headDim else {
            throw ModelError.invalidBatch("the KV cache was made for another model shape")
        }
        let t = batch.tokenCount
        let l = batch.logitTokens.count
        let longest = (batch.positions.max().map { Int($0) + 1 }) ?? 0
        scratch.reserve(tokens: t, logitRows: l, context: longest)

        let hidden = scratch.hidden.pointer       // [T, hidden]
        for (i, token) in batch.tokens.enumerated() {
            (hidden + i * c.hiddenSize).update(from: embedding.pointer + Int(token) * c.hiddenSize, count: c.hiddenSize)
        }
        for (index, layer) in layers.enumerated() {
            attentionBlock(layer, index: index, batch: batch, cache: cache, scratch: scratch)
            mlpBlock(layer, tokens: t, scratch: scratch)
        }

        let last = scratch.lastHidden.pointer     // [L, hidden]
        for (row, token) in batch.logitTokens.enumerated() {
            Elementwise.rmsNorm(
                hidden + Int(token) * c.hiddenSize, weight: finalNorm.pointer, epsilon: c.rmsNormEpsilon,
                rows: 1, count: c.hiddenSize, into: last + row * c.hiddenSize)
        }
        let logits = scratch.logits.pointer       // [L, vocab]
        if l > 0 { MatMul.multiply(last, rows: l, lmHead, into: logits) }
        return UnsafeMutableBufferPointer(start: logits, count: l * c.vocabularySize)
    }

    private func attentionBlock(_ layer: LlamaLayer, index: Int, batch: Batch, cache: PagedKVCache, scratch: ForwardScratch) {
        let c = config
        let t = batch.tokenCount
        let hidden = scratch.hidden.pointer, normed = scratch.normed.pointer
        Elementwise.rmsNorm(hidden, weight: layer.attentionNorm.pointer, epsilon: c.rmsNormEpsilon, rows: t, count: c.hiddenSize, into: normed)
        let q = scratch.query.pointer, k = scratch.key.pointer, v = scratch.value.pointer
        project(normed, tokens: t, layer.query, bias: layer.queryBias, into: q)   // [T, queryDim]
        project(normed, tokens: t, layer.key, bias: layer.keyBias, into: k)       // [T, kvDim]
        project(normed, tokens: t, layer.value, bias: layer.valueBias, into: v)   // [T, kvDim]
        for i in 0..<t {
            let position = Int(batch.positions[i])
            rotary.apply(q + i * c.queryDim, heads: c.headCount, position: position)
            rotary.apply(k + i * c.kvDim, heads: c.kvHeadCount, position: position)
        }
        cache.store(layer: index, batch: batch, keys: k, values: v)
        let attended = scratch.attention.pointer                                   // [T, queryDim]
        pagedAttention(layer: index, batch: batch, queries: q, cache: cache, scratch: scratch, into: attended)
        let projected = scratch.projected.pointer                                 // [T, hidden]
        project(attended, tokens: t, layer.output, bias: nil, into: projected)
        Elementwise.add(projected, into: hidden, count: t * c.hiddenSize)
    }

    private func mlpBlock(_ layer: LlamaLayer, tokens t: Int, scratch: ForwardScratch) {
        let c = config
        let hidden = scratch.hidden.pointer, normed = scratch.normed.pointer
        Elementwise.rmsNorm(hidden, weight: layer.mlpNorm.pointer, epsilon: c.rmsNormEpsilon, rows: t, count: c.hiddenSize, into: normed)
        let gate = scratch.gate.pointer, up = scratch.up.pointer                   // [T, intermediate]
        project(normed, tokens: t, layer.gate, bias: nil, into: gate)
        project(normed, tokens: t, layer.up, bias: nil, into: up)
        Elementwise.siluMultiply(gate, up, count: t * c.intermediateSize)
        let projected = scratch.projected.pointer                                 // [T, hidden]
        project(gate, tokens: t, layer.down, bias: nil, into: projected)
        Elementwise.add(projected, into: hidden, count: t * c.hiddenSize)
    }

    /// `y = x Wᵀ + b` for every token of the batch.
    private func project(_ x: UnsafePointer<Float>, tokens: Int, _ w: PackedMatrix, bias: Tensor?, into y: UnsafeMutablePointer<Float>) {
        MatMul.multiply(x, rows: tokens, w, into: y)
        if let bias {
            for i in 0..<tokens { Elementwise.add(bias.pointer, into: y + i * w.outputs, count: w.outputs) }
        }
    }
}
