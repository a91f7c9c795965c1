// Run state of the forward pass (llama2.c's RunState): every activation buffer allocated once
// and grown only when a batch needs more, so a step allocates nothing.

import FloraTensor

public final class ForwardScratch {
    private(set) var contextCapacity = 0
    let config: LlamaConfig
    let workerCount: Int

    let hidden = ScratchBuffer<Float>()      // [T, hidden]  residual stream
    let normed = ScratchBuffer<Float>()      // [T, hidden]
    let query = ScratchBuffer<Float>()       // [T, queryDim]
    let key = ScratchBuffer<Float>()         // [T, kvDim]
    let value = ScratchBuffer<Float>()       // [T, kvDim]
    let attention = ScratchBuffer<Float>()   // [T, queryDim]
    let gate = ScratchBuffer<Float>()        // [T, intermediate]
    let up = ScratchBuffer<Float>()          // [T, intermediate]
    let projected = ScratchBuffer<Float>()   // [T, hidden]
    let lastHidden = ScratchBuffer<Float>()  // [L, hidden]
    let logits = ScratchBuffer<Float>()      // [L, vocab]
    let scores = ScratchBuffer<Float>()      // [workers, contextCapacity]

    public init(config: LlamaConfig, workerCount: Int = 2) {
        self.config = config
        self.workerCount = max(1, workerCount)
    }

    func reserve(tokens t: Int, logitRows l: Int, context: Int) {
        let c = config
        hidden.reserve(t * c.hiddenSize)
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
        if context > contextCapacity {
            contextCapacity = max(context, contextCapacity * 3 / 2)
            scores.reserve(workerCount * contextCapacity)
        }
    }
}
