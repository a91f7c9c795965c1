// Run state of the forward pass (llama2.c's RunState): every activation buffer allocated once
// and grown only when a batch needs more, so a step allocates nothing.

import FloraTensor

public final class ForwardScratch {
    let dimensions: ModelDimensions

    let hidden = ScratchBuffer<Float>()      // [T, hidden]  residual stream
    let normed = ScratchBuffer<Float>()      // [T, hidden]
    let fusedQKV = ScratchBuffer<Float>()    // [T, fusedQKVWidth]  a fused projection's output, before the split
    let query = ScratchBuffer<Float>()       // [T, queryDim]
    let key = ScratchBuffer<Float>()         // [T, kvDim]
    let value = ScratchBuffer<Float>()       // [T, kvDim]
    let attention = ScratchBuffer<Float>()   // [T, queryDim]
    let gate = ScratchBuffer<Float>()        // [T, intermediate]  (GPTBigCode: c_fc's output)
    let up = ScratchBuffer<Float>()          // [T, intermediate]
    let projected = ScratchBuffer<Float>()   // [T, hidden]
    let lastHidden = ScratchBuffer<Float>()  // [L, hidden]
    let logits = ScratchBuffer<Float>()      // [L, vocab]
    let scores = ScratchBuffer<Float>()      // [workers, scoreStride]: attention's softmax row, one per worker
    /// The distance between two workers' scores: up to 4 heads' rows over the longest context
    /// of the current batch, in whole blocks.
    private(set) var scoreStride = 0

    public init(config: some TransformerShape) {
        dimensions = config.dimensions
    }

    func reserve(tokens t: Int, logitRows l: Int, context: Int, blockSize: Int) {
        let c = dimensions
        hidden.reserve(t * c.hiddenSize)
        fusedQKV.reserve(t * c.fusedQKVWidth)
        normed.reserve(t * c.hiddenSize)
        query.reserve(t * c.queryDim)
        key.reserve(t * c.kvDim)
        value.reserve(t * c.kvDim)
        attention.reserve(t * c.queryDim)
        gate.reserve(t * c.intermediateSize)
        up.reserve(t * c.intermediateSize)
        projected.reserve(t * c.hiddenSize)
        lastHidden.reserve(l * c.hiddenSize)
        logits.reserve(l * c.vocabularySize)
        // Attention splits over at most all the pool's threads (`ParallelRegion.forEachItem`).
        scoreStride = PagedKVCache.scoreFloats(context: context, blockSize: blockSize)
        scores.reserve(ParallelRegion.coreCount * scoreStride)
    }
}
