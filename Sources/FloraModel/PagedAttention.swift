// Causal grouped-query attention over the paged KV cache: each token attends to positions
// 0...p of its own sequence, reading keys and values block by block through its block table.

import FloraTensor

extension PagedKVCache {
    /// Writes each token's rotated key and its value at its position's block and slot.
    func store(layer index: Int, batch: Batch, keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>) {
        let kv = layer(index)
        let kvDim = kvHeadCount * headDim
        let keyBase = kv.keys.pointer, valueBase = kv.values.pointer
        for i in 0..<batch.tokenCount {
            let position = Int(batch.positions[i])
            let table = batch.sequences[Int(batch.sequenceOfToken[i])].blockTable
            let block = Int(table[position / blockSize])
            let slot = position % blockSize
            for head in 0..<kvHeadCount {
                let at = kv.offset(block: block, head: head, slot: slot)
                (keyBase + at).update(from: k + i * kvDim + head * headDim, count: headDim)
                (valueBase + at).update(from: v + i * kvDim + head * headDim, count: headDim)
            }
        }
    }
}

extension PagedKVCache {
    /// Each token's heads attend over its sequence's positions 0...p in layer `layer`:
    /// `softmax(q·Kᵀ · scale) V`, grouped-query (heads share KV heads in order), `[T, queryDim]`.
    func attend(
        layer: Int, batch: Batch, queries q: UnsafePointer<Float>, dimensions c: ModelDimensions, scale: Float,
        scratch: ForwardScratch, into out: UnsafeMutablePointer<Float>
    ) {
        // Work grows with each token's context; split only when it outweighs a parallel region.
        let work = batch.positions.reduce(0) { $0 + Int($1) + 1 } * c.headCount * c.headDim * 4
        let queries = SendablePointer(q), output = SendablePointer(out), scores = SendablePointer(scratch.scores.pointer)
        let stride = scratch.scoreStride
        let task = AttentionTask(config: c, scale: scale, batch: batch, kv: self.layer(layer))
        ParallelRegion.forEachItem(items: batch.tokenCount * c.headCount, flops: work) { item, worker in
            task.run(item: item, queries: queries.pointer, scores: scores.pointer + worker * stride, into: output.pointer)
        }
    }
}

/// The read-only state one attention item needs; shared by the workers of a parallel region,
/// each of which writes only its own items' outputs and its own scores row.
private struct AttentionTask: Sendable {
    let config: ModelDimensions
    let scale: Float
    let batch: Batch
    let kv: PagedKVCache.Layer

    /// Item = token · heads + head: softmax(q·Kᵀ · scale) V over positions 0...p.
    func run(item: Int, queries: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let c = config
        let token = item / c.headCount, head = item % c.headCount
        let kvHead = head / (c.headCount / c.kvHeadCount)
        let d = c.headDim, blockSize = kv.blockSize
        let query = queries + token * c.queryDim + head * d
        let target = out + token * c.queryDim + head * d
        let length = Int(batch.positions[token]) + 1
        let table = batch.sequences[Int(batch.sequenceOfToken[token])].blockTable
        let keys = kv.keys.pointer, values = kv.values.pointer
        var position = 0
        while position < length {
            let block = Int(table[position / blockSize])
            let base = keys + kv.offset(block: block, head: kvHead, slot: 0)
            let count = min(blockSize, length - position)
            for slot in 0..<count {
                scores[position + slot] = Elementwise.dot(query, base + slot * d, count: d) * scale
            }
            position += count
        }
        Elementwise.softmax(scores, count: length)
        target.initialize(repeating: 0, count: d)
        position = 0
        while position < length {
            let block = Int(table[position / blockSize])
            let base = values + kv.offset(block: block, head: kvHead, slot: 0)
            let count = min(blockSize, length - position)
            for slot in 0..<count {
                Elementwise.addScaled(base + slot * d, alpha: scores[position + slot], into: target, count: d)
            }
            position += count
        }
    }
}
