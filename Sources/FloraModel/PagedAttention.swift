// Causal grouped-query attention over the paged KV cache: each token attends to positions
// 0...p of its own sequence, reading keys and values block by block through its block table.
//
// Keys are stored transposed within each (block, KV head), `[headDim, blockSize]`, so that the
// scores of 16 consecutive positions are one SIMD16 accumulator: Σ_p q[p] · K[p, slots], with no
// horizontal sums. The query heads that share a KV head (grouped-query attention) are computed
// together, up to 4 at a time: each key and value row is read once for all of them. That is the
// product Q_group [g, d] · K_blockᵀ [d, 16], then softmax, then scores [g, 16] · V_block [16, d].

import FloraTensor

extension PagedKVCache {
    /// Writes each token's rotated key (transposed, see above) and its value at its position's
    /// block and slot.
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
                let key = k + i * kvDim + head * headDim
                let keys = keyBase + kv.offset(block: block, head: head, slot: 0)
                for p in 0..<headDim { keys[p * blockSize + slot] = key[p] }
                (valueBase + kv.offset(block: block, head: head, slot: slot)).update(from: v + i * kvDim + head * headDim, count: headDim)
            }
        }
    }
}

extension PagedKVCache {
    /// Scratch floats per attention worker for a context of `context` positions: the scores of
    /// up to 4 heads over whole blocks.
    static func scoreFloats(context: Int, blockSize: Int) -> Int {
        AttentionTask.headsPerPass * ((context + blockSize - 1) / blockSize * blockSize)
    }

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
        // Items are (token, KV head, pass of up to 4 query heads): enough of them to keep both
        // cores busy on a single sequence's decode step.
        let passes = (c.headCount / c.kvHeadCount + AttentionTask.headsPerPass - 1) / AttentionTask.headsPerPass
        ParallelRegion.forEachItem(items: batch.tokenCount * c.kvHeadCount * passes, flops: work) { item, worker in
            task.run(item: item, passes: passes, queries: queries.pointer, scores: scores.pointer + worker * stride, into: output.pointer)
        }
    }
}

/// The read-only state one attention item needs; shared by the workers of a parallel region,
/// each of which writes only its own items' outputs and its own scores rows.
private struct AttentionTask: Sendable {
    static let headsPerPass = 4

    let config: ModelDimensions
    let scale: Float
    let batch: Batch
    let kv: PagedKVCache.Layer

    /// Item = (token · kvHeads + kvHead) · passes + pass: query heads `4·pass ..< 4·pass + 4` of
    /// the group sharing the KV head, each `softmax(q·Kᵀ · scale) V` over positions 0...p.
    func run(item: Int, passes: Int, queries: UnsafeMutablePointer<Float>, scores: UnsafeMutablePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let c = config
        let pass = item % passes, pair = item / passes
        let token = pair / c.kvHeadCount, kvHead = pair % c.kvHeadCount
        let group = c.headCount / c.kvHeadCount
        let firstHead = kvHead * group + pass * Self.headsPerPass
        let heads = min(Self.headsPerPass, group - pass * Self.headsPerPass)
        let d = c.headDim, blockSize = kv.blockSize
        let query = queries + token * c.queryDim + firstHead * d
        let target = out + token * c.queryDim + firstHead * d
        let length = Int(batch.positions[token]) + 1
        let stride = (length + blockSize - 1) / blockSize * blockSize  // scores of head h at scores + h · stride
        let table = batch.sequences[Int(batch.sequenceOfToken[token])].blockTable
        let keys = kv.keys.pointer, values = kv.values.pointer
        var position = 0
        while position < length {
            let block = Int(table[position / blockSize])
            let base = keys + kv.offset(block: block, head: kvHead, slot: 0)
            scoreBlock(query, heads: heads, headDim: d, keys: base, blockSize: blockSize, into: scores + position, stride: stride)
            position += blockSize
        }
        for h in 0..<heads { Elementwise.softmax(scores + h * stride, count: length) }
        for h in 0..<heads { (target + h * d).initialize(repeating: 0, count: d) }
        position = 0
        while position < length {
            let block = Int(table[position / blockSize])
            let base = values + kv.offset(block: block, head: kvHead, slot: 0)
            for slot in 0..<min(blockSize, length - position) {
                // One value row, still in L1, for every head of the pass.
                for h in 0..<heads {
                    Elementwise.addScaled(base + slot * d, alpha: scores[h * stride + position + slot], into: target + h * d, count: d)
                }
            }
            position += blockSize
        }
    }

    /// `scores[h · stride + s] = scale · Σ_p query[h · d + p] · keys[p · blockSize + s]` for the
    /// block's slots s (all of them: slots past the context are computed and never read).
    @inline(__always)
    private func scoreBlock(
        _ query: UnsafePointer<Float>, heads: Int, headDim d: Int, keys: UnsafePointer<Float>, blockSize: Int,
        into scores: UnsafeMutablePointer<Float>, stride: Int
    ) {
        let factor = SIMD16<Float>(repeating: scale)
        var s = 0
        while s + 16 <= blockSize {
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            var row = keys + s
            for p in 0..<d {
                let k = loadUnaligned16(row)
                a0.addProduct(query[p], k)
                if heads > 1 { a1.addProduct(query[d + p], k) }
                if heads > 2 { a2.addProduct(query[2 * d + p], k) }
                if heads > 3 { a3.addProduct(query[3 * d + p], k) }
                row += blockSize
            }
            store16(a0 * factor, scores + s)
            if heads > 1 { store16(a1 * factor, scores + stride + s) }
            if heads > 2 { store16(a2 * factor, scores + 2 * stride + s) }
            if heads > 3 { store16(a3 * factor, scores + 3 * stride + s) }
            s += 16
        }
        // Blocks that are not a whole number of SIMD16 lanes.
        while s < blockSize {
            for h in 0..<heads {
                var sum: Float = 0
                for p in 0..<d { sum.addProduct(query[h * d + p], keys[p * blockSize + s]) }
                scores[h * stride + s] = sum * scale
            }
            s += 1
        }
    }
}
