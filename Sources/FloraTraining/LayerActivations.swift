// What one transformer block's forward leaves for its backward: kept for every layer when the
// minibatch is small enough, otherwise recomputed layer by layer from the layer's input.

import FloraAdapters
import FloraModel
import FloraTensor

final class LayerActivations {
    let inverse1 = ScratchBuffer<Float>()    // [T]            attention RMSNorm: 1 / rms
    let normed1 = ScratchBuffer<Float>()     // [T, hidden]
    let query = ScratchBuffer<Float>()       // [T, queryDim]  after rotary
    let key = ScratchBuffer<Float>()         // [T, kvDim]     after rotary
    let value = ScratchBuffer<Float>()       // [T, kvDim]
    let attention = ScratchBuffer<Float>()   // [T, queryDim]  attention output (o_proj input)
    let lse = ScratchBuffer<Float>()         // [T, heads]     log-sum-exp of each attention row
    let residual = ScratchBuffer<Float>()    // [T, hidden]    after the attention block
    let inverse2 = ScratchBuffer<Float>()    // [T]            MLP RMSNorm: 1 / rms
    let normed2 = ScratchBuffer<Float>()     // [T, hidden]
    let gate = ScratchBuffer<Float>()        // [T, intermediate] before SiLU
    let up = ScratchBuffer<Float>()          // [T, intermediate]
    let activation = ScratchBuffer<Float>()  // [T, intermediate] silu(gate) · up (down_proj input)
    let captures = TargetModule.allCases.map { _ in LinearCapture() }  // by TargetModule.index

    func reserve(tokens t: Int, config c: LlamaConfig) {
        inverse1.reserve(t)
        normed1.reserve(t * c.hiddenSize)
        query.reserve(t * c.queryDim)
        key.reserve(t * c.kvDim)
        value.reserve(t * c.kvDim)
        attention.reserve(t * c.queryDim)
        lse.reserve(t * c.headCount)
        residual.reserve(t * c.hiddenSize)
        inverse2.reserve(t)
        normed2.reserve(t * c.hiddenSize)
        gate.reserve(t * c.intermediateSize)
        up.reserve(t * c.intermediateSize)
        activation.reserve(t * c.intermediateSize)
    }

    /// Bytes one token's activations of one layer take, with `rows` expanded product rows per
    /// token of each adapted module (fLoRA rank, else 1; unadapted modules keep no product) and
    /// LoRA rank `loraRank`.
    static func bytesPerToken(config c: LlamaConfig, rows: [TargetModule: Int], loraRank: Int) -> Int {
        let plain = 2 + c.hiddenSize * 4 + c.queryDim * 2 + c.kvDim * 2 + c.headCount + c.intermediateSize * 3
        let outputs: [TargetModule: Int] = [.qProj: c.queryDim, .kProj: c.kvDim, .vProj: c.kvDim, .oProj: c.hiddenSize,
                                            .gateProj: c.intermediateSize, .upProj: c.intermediateSize, .downProj: c.hiddenSize]
        let products = rows.reduce(0) { $0 + outputs[$1.key]! * $1.value + loraRank }
        return (plain + products) * MemoryLayout<Float>.stride
    }
}
