// What one transformer block's forward leaves for its backward: kept for every layer when the
// minibatch is small enough, otherwise recomputed layer by layer from the layer's input. Both
// architectures' blocks have the same shape (norm → attention → residual, norm → MLP →
// residual), so one set of buffers serves both; each block fills the ones it needs.

import FloraAdapters
import FloraModel
import FloraTensor

final class LayerActivations {
    let mean1 = ScratchBuffer<Float>()       // [T]            attention LayerNorm: row mean (GPTBigCode)
    let inverse1 = ScratchBuffer<Float>()    // [T]            attention norm: 1 / rms (Llama) or 1 / σ (GPTBigCode)
    let normed1 = ScratchBuffer<Float>()     // [T, hidden]
    let query = ScratchBuffer<Float>()       // [T, queryDim]  after rotary (Llama)
    let key = ScratchBuffer<Float>()         // [T, kvDim]     after rotary (Llama)
    let value = ScratchBuffer<Float>()       // [T, kvDim]
    let attention = ScratchBuffer<Float>()   // [T, queryDim]  attention output (o_proj / attn.c_proj input)
    let lse = ScratchBuffer<Float>()         // [T, heads]     log-sum-exp of each attention row
    let residual = ScratchBuffer<Float>()    // [T, hidden]    after the attention block
    let mean2 = ScratchBuffer<Float>()       // [T]            MLP LayerNorm: row mean (GPTBigCode)
    let inverse2 = ScratchBuffer<Float>()    // [T]            MLP norm: 1 / rms or 1 / σ
    let normed2 = ScratchBuffer<Float>()     // [T, hidden]
    let gate = ScratchBuffer<Float>()        // [T, intermediate] before the activation: SwiGLU's gate, c_fc's output
    let up = ScratchBuffer<Float>()          // [T, intermediate] SwiGLU's up (Llama)
    let activation = ScratchBuffer<Float>()  // [T, intermediate] silu(gate) · up or gelu(c_fc) (down_proj / mlp.c_proj input)
    let captures = TargetModule.allCases.map { _ in LinearCapture() }  // by TargetModule.index

    func reserve(tokens t: Int, dimensions c: ModelDimensions, gatedMLP: Bool) {
        mean1.reserve(t)
        inverse1.reserve(t)
        normed1.reserve(t * c.hiddenSize)
        query.reserve(t * c.queryDim)
        key.reserve(t * c.kvDim)
        value.reserve(t * c.kvDim)
        attention.reserve(t * c.queryDim)
        lse.reserve(t * c.headCount)
        residual.reserve(t * c.hiddenSize)
        mean2.reserve(t)
        inverse2.reserve(t)
        normed2.reserve(t * c.hiddenSize)
        gate.reserve(t * c.intermediateSize)
        if gatedMLP { up.reserve(t * c.intermediateSize) }
        activation.reserve(t * c.intermediateSize)
    }

    /// Bytes one token's activations of one layer take, with `rows` expanded product rows per
    /// token of each adapted module (fLoRA rank, else 1; unadapted modules keep no product) and
    /// LoRA rank `loraRank`.
    static func bytesPerToken(
        dimensions c: ModelDimensions, gatedMLP: Bool, shapes: AdapterTargetShapes, rows: [TargetModule: Int], loraRank: Int
    ) -> Int {
        let plain = 4 + c.hiddenSize * 4 + c.queryDim * 2 + c.kvDim * 2 + c.headCount + c.intermediateSize * (gatedMLP ? 3 : 2)
        let products = rows.reduce(0) { $0 + shapes.outputs($1.key) * $1.value + loraRank }
        return (plain + products) * MemoryLayout<Float>.stride
    }
}
