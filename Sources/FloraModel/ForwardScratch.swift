// Run state of the forward pass (llama2.c's RunState): every activation buffer allocated once
// and grown only when a batch needs more, so a step allocates nothing.

import FloraTensor

public final class ForwardScratch {
    public private(set) var tokenCapacity = 0
    public private(set) var logitCapacity = 0
    private(set) var contextCapacity = 0
    let config: LlamaConfig
    let workerCount: Int

    private(set) var hidden = FloatBuffer(count: 0)     // [T, hidden]  residual stream
    private(set) var normed = FloatBuffer(count: 0)     // [T, hidden]
    private(set) var query = FloatBuffer(count: 0)      // [T, queryDim]
    private(set) var key = FloatBuffer(count: 0)        // [T, kvDim]
    private(set) var value = FloatBuffer(count: 0)      // [T, kvDim]
    private(set) var attention = FloatBuffer(count: 0)  // [T, queryDim]
    private(set) var gate = FloatBuffer(count: 0)       // [T, intermediate]
    private(set) var up = FloatBuffer(count: 0)         // [T, intermediate]
    private(set) var projected = FloatBuffer(count: 0)  // [T, hidden]
    private(set) var lastHidden = FloatBuffer(count: 0) // [L, hidden]
    private(set) var logits = FloatBuffer(count: 0)     // [L, vocab]
    private(set) var scores = FloatBuffer(count: 0)     // [workers, context]

    public init(config: LlamaConfig, workerCount: Int = 2) {
        self.config = config
        self.workerCount = max(1, workerCount)
    }

    func reserve(tokens: Int, logitRows: Int, context: Int) {
        let c = config
        if tokens > tokenCapacity {
            let t = max(tokens, tokenCapacity * 3 / 2)
            hidden = FloatBuffer(count: t * c.hiddenSize)
            normed = FloatBuffer(count: t * c.hiddenSize)
            query = FloatBuffer(count: t * c.queryDim)
            key = FloatBuffer(count: t * c.kvDim)
            value = FloatBuffer(count: t * c.kvDim)
            attention = FloatBuffer(count: t * c.queryDim)
            gate = FloatBuffer(count: t * c.intermediateSize)
            up = FloatBuffer(count: t * c.intermediateSize)
            projected = FloatBuffer(count: t * c.hiddenSize)
            tokenCapacity = t
        }
        if logitRows > logitCapacity {
            let l = max(logitRows, logitCapacity * 3 / 2)
            lastHidden = FloatBuffer(count: l * c.hiddenSize)
            logits = FloatBuffer(count: l * c.vocabularySize)
            logitCapacity = l
        }
        if context > contextCapacity {
            let n = max(context, contextCapacity * 3 / 2)
            scores = FloatBuffer(count: workerCount * n)
            contextCapacity = n
        }
    }
}
