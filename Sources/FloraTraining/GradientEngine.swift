// Loss and adapter gradients of a Llama model with frozen weights over one minibatch
// (DESIGN.md section 6): embed → blocks → final RMSNorm → tied LM head → cross-entropy, then
// back down the blocks. Layer inputs are always kept; a block's other activations are kept when
// the whole pass fits `activationBudgetBytes`, else recomputed from its input during backward.

import FloraAdapters
import FloraModel
import FloraTensor

public final class GradientEngine {
    public let model: LlamaModel
    public let adapters: [TrainableAdapter]
    /// The fp32 embedding table, `[vocab, hidden]`, taken once (a quantized model builds it on request).
    private let embeddingTable: Tensor
    /// Largest size of all layers' activations kept at once; above it each layer's are recomputed.
    public var activationBudgetBytes: Int = 1 << 30
    /// Whether the backward pass multiplies with packed copies of Wᵀ (built on the first backward,
    /// as much memory again as the model's weights) rather than reading W's panels transposed.
    public var usesTransposedWeightCopies = true
    /// Whether the last `accumulateGradients` kept every layer's activations (no recomputation).
    public private(set) var lastPassKeptActivations = false

    let config: LlamaConfig
    let attention: CausalAttention
    let rotary: RotaryTable
    let linear: TrainingLinear
    let transposed = TransposedWeights()
    let bank: AdapterBank?
    let layerInputs = ScratchBuffer<Float>()     // [layers + 1, T, hidden]: the residual stream entering each block, and the last
    let shared = LayerActivations()      // one layer's, when they are recomputed
    var kept: [LayerActivations] = []    // [layers], when they are kept
    let projected = ScratchBuffer<Float>()       // [T, hidden]: o_proj / down_proj output
    let recomputedOutput = ScratchBuffer<Float>() // [T, hidden]: a recomputed block's output (already in layerInputs)
    var slots: [AdapterSlot] = []        // [T]
    // Backward scratch.
    let dResidual = ScratchBuffer<Float>()       // [T, hidden]: gradient of the residual stream
    let dAttentionBlock = ScratchBuffer<Float>() // [T, hidden]
    let dNormed = ScratchBuffer<Float>()         // [T, hidden]
    let dIntermediate = ScratchBuffer<Float>()   // [T, intermediate]: d activation, then d gate
    let dUp = ScratchBuffer<Float>()             // [T, intermediate]
    let dAttention = ScratchBuffer<Float>()      // [T, queryDim]
    let dQuery = ScratchBuffer<Float>()          // [T, queryDim]
    let dKey = ScratchBuffer<Float>()            // [T, kvDim]
    let dValue = ScratchBuffer<Float>()          // [T, kvDim]
    // Head scratch.
    let headRows = ScratchBuffer<Float>()        // [chunk, hidden]
    let headInverse = ScratchBuffer<Float>()     // [chunk]
    let logits = ScratchBuffer<Float>()          // [chunk, vocab]
    let dHeadRows = ScratchBuffer<Float>()       // [chunk, hidden]

    /// `adapters` are trained together; a batch names them by index. All must match the model.
    public init(model: LlamaModel, adapters: [TrainableAdapter]) throws {
        for adapter in adapters where adapter.shapes != model.adapterShapes {
            throw TrainingError.invalidArgument("adapter '\(adapter.name)' was made for \(adapter.shapes), the model has \(model.adapterShapes)")
        }
        self.model = model
        self.adapters = adapters
        embeddingTable = model.embeddingWeight
        config = model.config
        attention = CausalAttention(heads: config.headCount, kvHeads: config.kvHeadCount, headDim: config.headDim)
        rotary = model.rotary
        linear = TrainingLinear(adapters: adapters)
        bank = adapters.isEmpty ? nil : try AdapterBank(capacity: adapters.count, shapes: model.adapterShapes)
    }

    /// Cross-entropy sums of `batch` with the adapters' current parameters (no gradients).
    public func loss(_ batch: TrainingBatch) throws -> LossSums {
        try prepare(batch)
        let t = batch.tokenCount, d = config.hiddenSize
        shared.reserve(tokens: t, config: config)
        for layer in 0..<config.layerCount {
            forwardLayer(layer, batch: batch, input: layerInputs.pointer + layer * t * d, output: layerInputs.pointer + (layer + 1) * t * d,
                         acts: shared, capture: false)
        }
        return head(batch, finalResidual: layerInputs.pointer + config.layerCount * t * d, gradient: nil)
    }

    /// Adds the gradient of `Σ_t lossWeight[t] · CE[t]` with respect to every adapter's parameters
    /// into its `gradients`, and returns the cross-entropy sums.
    public func accumulateGradients(_ batch: TrainingBatch) throws -> LossSums {
        try prepare(batch)
        if usesTransposedWeightCopies { transposed.prepare(model) }
        let t = batch.tokenCount, d = config.hiddenSize, layers = config.layerCount
        let keep = layers * t * activationBytesPerToken(batch) <= activationBudgetBytes
        lastPassKeptActivations = keep
        if keep {
            while kept.count < layers { kept.append(LayerActivations()) }
            for acts in kept { acts.reserve(tokens: t, config: config) }
        } else {
            kept = []
            shared.reserve(tokens: t, config: config)
        }
        for layer in 0..<layers {
            forwardLayer(layer, batch: batch, input: layerInputs.pointer + layer * t * d, output: layerInputs.pointer + (layer + 1) * t * d,
                         acts: keep ? kept[layer] : shared, capture: keep)
        }
        let dX = dResidual.reserve(t * d)
        dX.update(repeating: 0, count: t * d)
        let sums = head(batch, finalResidual: layerInputs.pointer + layers * t * d, gradient: dX)
        reserveBackward(tokens: t)
        for layer in stride(from: layers - 1, through: 0, by: -1) {
            let input = layerInputs.pointer + layer * t * d
            let acts: LayerActivations
            if keep {
                acts = kept[layer]
            } else {
                forwardLayer(layer, batch: batch, input: input, output: recomputedOutput.reserve(t * d), acts: shared, capture: true)
                acts = shared
            }
            backwardLayer(layer, batch: batch, input: input, acts: acts, dX: dX, needsInputGradient: layer > 0)
        }
        return sums
    }

    /// The logits of every token of one sequence run with adapter `adapter` (-1: none), `[L, vocab]`
    /// row-major, through the serving path (the adapter bank's batched linear layer).
    public func logits(tokens: [Int32], adapter: Int) throws -> [Float] {
        let batch = try TrainingBatch(examples: [(TrainingExample(tokens: tokens), adapter)], adapterCount: adapters.count)
        try prepare(batch)
        let t = batch.tokenCount, d = config.hiddenSize, v = config.vocabularySize
        shared.reserve(tokens: t, config: config)
        for layer in 0..<config.layerCount {
            forwardLayer(layer, batch: batch, input: layerInputs.pointer + layer * t * d, output: layerInputs.pointer + (layer + 1) * t * d,
                         acts: shared, capture: false)
        }
        var result = [Float](repeating: 0, count: t * v)
        let rows = headRows.reserve(t * d), inverse = headInverse.reserve(t)
        Elementwise.rmsNorm(
            layerInputs.pointer + config.layerCount * t * d, weight: model.finalNorm.pointer, epsilon: config.rmsNormEpsilon,
            rows: t, count: d, into: rows, inverse: inverse)
        result.withUnsafeMutableBufferPointer { MatMul.multiply(rows, rows: t, model.lmHead, into: $0.baseAddress!) }
        return result
    }

    /// Checks the batch, installs the adapters' current parameters in the bank, embeds the tokens.
    private func prepare(_ batch: TrainingBatch) throws {
        let t = batch.tokenCount, d = config.hiddenSize
        guard t > 0 else { throw TrainingError.invalidArgument("the batch holds no tokens") }
        if let bad = batch.tokens.firstIndex(where: { $0 < 0 || Int($0) >= config.vocabularySize }) {
            throw TrainingError.invalidArgument("token \(bad) of the batch has id \(batch.tokens[bad]), outside the vocabulary of \(config.vocabularySize)")
        }
        let longest = batch.segments.map(\.count).max() ?? 0
        guard longest <= min(config.contextLength, rotary.maxPositions) else {
            throw TrainingError.invalidArgument("a segment of \(longest) tokens is longer than the model's context of \(config.contextLength)")
        }
        if let bank {
            for slot in bank.occupiedSlots { bank.remove(slot) }
            for adapter in adapters {
                let slot = try bank.install(adapter.weights())
                assert(Int(slot) == adapters.firstIndex { $0 === adapter }!)
            }
        }
        slots = [AdapterSlot](repeating: AdapterBank.noAdapter, count: t)
        for (adapter, range) in batch.groups where adapter >= 0 {
            for i in range { slots[i] = AdapterSlot(adapter) }
        }
        if let bank, slots.contains(where: { $0 != AdapterBank.noAdapter }) {
            try slots.withUnsafeBufferPointer { try bank.prepare(slots: $0.baseAddress!, tokens: t) }
        }
        let residual = layerInputs.reserve((config.layerCount + 1) * t * d)
        let embedding = embeddingTable.pointer
        for (i, token) in batch.tokens.enumerated() {
            (residual + i * d).update(from: embedding + Int(token) * d, count: d)
        }
        projected.reserve(t * d)
    }

    private func reserveBackward(tokens t: Int) {
        let c = config
        dAttentionBlock.reserve(t * c.hiddenSize)
        dNormed.reserve(t * c.hiddenSize)
        dIntermediate.reserve(t * c.intermediateSize)
        dUp.reserve(t * c.intermediateSize)
        dAttention.reserve(t * c.queryDim)
        dQuery.reserve(t * c.queryDim)
        dKey.reserve(t * c.kvDim)
        dValue.reserve(t * c.kvDim)
    }

    /// Activation bytes per token and layer for this batch's adapters.
    private func activationBytesPerToken(_ batch: TrainingBatch) -> Int {
        var rows: [TargetModule: Int] = [:]
        var loraRank = 0
        for (index, _) in batch.groups where index >= 0 {
            for m in adapters[index].modules {
                rows[m.key.module] = max(rows[m.key.module] ?? 1, m.kind == .flora ? m.rank : 1)
                if m.kind == .lora { loraRank = max(loraRank, m.rank) }
            }
        }
        return LayerActivations.bytesPerToken(config: config, rows: rows, loraRank: loraRank)
    }
}
