// One forward pass over a Batch: embed → per block (RMSNorm → q,k,v → rotary → paged
// attention → o → residual; RMSNorm → SwiGLU MLP → residual) → final RMSNorm and LM head
// for the tokens whose logits are wanted.

import FloraAdapters
import FloraTensor

extension LlamaModel {
    /// Runs `batch` and returns the logits of `batch.logitTokens`, `[L, vocab]`, held in `scratch`
    /// (overwritten by the next forward with the same scratch). Writes the batch's keys and values
    /// into `cache` at the blocks its block tables name. Tokens whose `adapterSlots` entry is not
    /// -1 run with that slot's adapter of `adapters` at every layer it targets.
    public func forward(
        _ batch: Batch, cache: PagedKVCache, scratch: ForwardScratch, adapters: AdapterBank? = nil
    ) throws -> Logits {
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
        let usesAdapters = batch.adapterSlots.contains { $0 != AdapterBank.noAdapter }
        if usesAdapters {
            guard let adapters else { throw ModelError.invalidBatch("tokens name adapter slots, but no adapter bank was given") }
            guard adapters.shapes == adapterShapes else { throw ModelError.invalidBatch("the adapter bank was made for another model shape") }
            try batch.adapterSlots.withUnsafeBufferPointer { try adapters.prepare(slots: $0.baseAddress!, tokens: t) }
        }
        let linear = LinearLayers(model: self, bank: usesAdapters ? adapters : nil, slots: batch.adapterSlots, tokens: t)
        let longest = (batch.positions.max().map { Int($0) + 1 }) ?? 0
        scratch.reserve(tokens: t, logitRows: l, context: longest)

        let hidden = scratch.hidden.pointer       // [T, hidden]
        for (i, token) in batch.tokens.enumerated() {
            if let embedding {
                (hidden + i * c.hiddenSize).update(from: embedding.pointer + Int(token) * c.hiddenSize, count: c.hiddenSize)
            } else {
                (quantizedEmbedding ?? lmHead).copyRow(Int(token), into: hidden + i * c.hiddenSize)
            }
        }
        for (index, layer) in layers.enumerated() {
            attentionBlock(layer, index: index, batch: batch, cache: cache, scratch: scratch, linear: linear)
            mlpBlock(layer, index: index, scratch: scratch, linear: linear)
        }

        let last = scratch.lastHidden.pointer     // [L, hidden]
        for (row, token) in batch.logitTokens.enumerated() {
            Elementwise.rmsNorm(
                hidden + Int(token) * c.hiddenSize, weight: finalNorm.pointer, epsilon: c.rmsNormEpsilon,
                rows: 1, count: c.hiddenSize, into: last + row * c.hiddenSize)
        }
        let logits = scratch.logits.pointer       // [L, vocab]
        if l > 0 { MatMul.multiply(last, rows: l, lmHead, into: logits) }
        return Logits(storage: scratch.logits, rows: l, vocabularySize: c.vocabularySize)
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
        pagedAttention(layer: index, batch: batch, queries: q, cache: cache, scratch: scratch, into: attended)
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

/// The linear layers of one forward: through the adapter bank when any token of the batch has
/// an adapter, else the plain product.
struct LinearLayers {
    let model: LlamaModel
    let bank: AdapterBank?
    let slots: [Int32]   // [T]
    let tokens: Int

    /// `y = x Wᵀ + b` for every token, each with its adapter at (layer, module).
    func callAsFunction(
        _ layer: Int, _ module: TargetModule, _ w: PackedMatrix, bias: Tensor?, _ x: UnsafePointer<Float>,
        into y: UnsafeMutablePointer<Float>
    ) {
        if let bank {
            slots.withUnsafeBufferPointer { slots in
                bank.linear(
                    layer: layer, module: module, weight: w, bias: bias.map { UnsafePointer($0.pointer) },
                    input: x, tokens: tokens, slots: slots.baseAddress!, output: y)
            }
            return
        }
        MatMul.multiply(x, rows: tokens, w, into: y)
        if let bias {
            for i in 0..<tokens { Elementwise.add(bias.pointer, into: y + i * w.outputs, count: w.outputs) }
        }
    }
}
