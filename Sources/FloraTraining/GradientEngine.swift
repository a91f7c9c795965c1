// Loss and adapter gradients of a model with frozen weights over one minibatch (DESIGN.md
// section 6): embed → blocks → final norm → LM head → cross-entropy, then back down the blocks.
// Layer inputs are always kept; a block's other activations are kept when the whole pass fits
// `activationBudgetBytes`, else recomputed from its input during backward. This file and the
// head are the same for every architecture; the embedding, the block forward and backward and
// the final norm are each architecture's own (GradientEngine+Llama.swift, +GPTBigCode.swift).

import FloraAdapters
import FloraModel
import FloraTensor

public final class GradientEngine {
    public let model: any CausalLanguageModel
    public let adapters: [TrainableAdapter]
    /// The fp32 embedding table, `[vocab, hidden]`, taken once (a quantized model builds it on request).
    let embeddingTable: Tensor
    /// Largest size of all layers' activations kept at once; above it each layer's are recomputed.
    public var activationBudgetBytes: Int = 1 << 30
    /// Whether the backward pass multiplies with packed copies of Wᵀ (built on the first backward,
    /// as much memory again as the model's weights) rather than reading W's panels transposed.
    public var usesTransposedWeightCopies = true
    /// Whether the last `accumulateGradients` kept every layer's activations (no recomputation).
    public private(set) var lastPassKeptActivations = false

    let architecture: TrainableModel
    let dimensions: ModelDimensions
    let attention: CausalAttention
    let linear: TrainingLinear
    let transposed = TransposedWeights()
    let bank: AdapterBank?
    let layerInputs = ScratchBuffer<Float>()     // [layers + 1, T, hidden]: the residual stream entering each block, and the last
    let shared = LayerActivations()      // one layer's, when they are recomputed
    var kept: [LayerActivations] = []    // [layers], when they are kept
    let projected = ScratchBuffer<Float>()       // [T, hidden]: the attention's and the MLP's output projection
    let fusedQKV = ScratchBuffer<Float>()        // [T, fusedQKVWidth]: c_attn's output (GPTBigCode)
    let recomputedOutput = ScratchBuffer<Float>() // [T, hidden]: a recomputed block's output (already in layerInputs)
    var slots: [AdapterSlot] = []        // [T]
    // Backward scratch.
    let dResidual = ScratchBuffer<Float>()       // [T, hidden]: gradient of the residual stream
    let dAttentionBlock = ScratchBuffer<Float>() // [T, hidden]
    let dNormed = ScratchBuffer<Float>()         // [T, hidden]
    let dIntermediate = ScratchBuffer<Float>()   // [T, intermediate]: d activation, then d gate (d c_fc)
    let dUp = ScratchBuffer<Float>()             // [T, intermediate]
    let dAttention = ScratchBuffer<Float>()      // [T, queryDim]
    let dQuery = ScratchBuffer<Float>()          // [T, queryDim]
    let dKey = ScratchBuffer<Float>()            // [T, kvDim]
    let dValue = ScratchBuffer<Float>()          // [T, kvDim]
    let dFusedQKV = ScratchBuffer<Float>()       // [T, fusedQKVWidth]: d c_attn (GPTBigCode)
    // Head scratch.
    let headRows = ScratchBuffer<Float>()        // [chunk, hidden]
    let headMean = ScratchBuffer<Float>()        // [chunk]: the final LayerNorm's row means (GPTBigCode)
    let headInverse = ScratchBuffer<Float>()     // [chunk]: the final norm's 1 / rms or 1 / σ
    let logits = ScratchBuffer<Float>()          // [chunk, vocab]
    let dHeadRows = ScratchBuffer<Float>()       // [chunk, hidden]

    /// `adapters` are trained together; a batch names them by index. All must match the model,
    /// a Llama-family or a GPTBigCode model (others are refused).
    public init(model: any CausalLanguageModel, adapters: [TrainableAdapter]) throws {
        architecture = try TrainableModel(model)
        for adapter in adapters where adapter.shapes != model.adapterShapes {
            throw TrainingError.invalidArgument("adapter '\(adapter.name)' was made for \(adapter.shapes), the model has \(model.adapterShapes)")
        }
        self.model = model
        self.adapters = adapters
        embeddingTable = architecture.embeddingTable
        dimensions = model.dimensions
        attention = CausalAttention(
            heads: dimensions.headCount, kvHeads: dimensions.kvHeadCount, headDim: dimensions.headDim, scale: architecture.attentionScale)
        linear = TrainingLinear(adapters: adapters)
        bank = adapters.isEmpty ? nil : try AdapterBank(capacity: adapters.count, shapes: model.adapterShapes)
        // The backward pass differentiates the row expansion: the loss must come from the same arithmetic.
        bank?.groupMergePolicy = .never
    }

    /// Cross-entropy sums of `batch` with the adapters' current parameters (no gradients).
    public func loss(_ batch: TrainingBatch) throws -> LossSums {
        try prepare(batch)
        let t = batch.tokenCount, d = dimensions.hiddenSize
        reserveActivations(shared, tokens: t)
        for layer in 0..<dimensions.layerCount {
            forwardLayer(layer, batch: batch, input: layerInputs.pointer + layer * t * d, output: layerInputs.pointer + (layer + 1) * t * d,
                         acts: shared, capture: false)
        }
        return head(batch, finalResidual: layerInputs.pointer + dimensions.layerCount * t * d, gradient: nil)
    }

    /// Adds the gradient of `Σ_t lossWeight[t] · CE[t]` with respect to every adapter's parameters
    /// into its `gradients`, and returns the cross-entropy sums.
    public func accumulateGradients(_ batch: TrainingBatch) throws -> LossSums {
        try prepare(batch)
        if usesTransposedWeightCopies { transposed.prepare(architecture) }
        let t = batch.tokenCount, d = dimensions.hiddenSize, layers = dimensions.layerCount
        let keep = layers * t * activationBytesPerToken(batch) <= activationBudgetBytes
        lastPassKeptActivations = keep
        if keep {
            while kept.count < layers { kept.append(LayerActivations()) }
            for acts in kept { reserveActivations(acts, tokens: t) }
        } else {
            kept = []
            reserveActivations(shared, tokens: t)
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
        let t = batch.tokenCount, d = dimensions.hiddenSize, v = dimensions.vocabularySize
        reserveActivations(shared, tokens: t)
        for layer in 0..<dimensions.layerCount {
            forwardLayer(layer, batch: batch, input: layerInputs.pointer + layer * t * d, output: layerInputs.pointer + (layer + 1) * t * d,
                         acts: shared, capture: false)
        }
        var result = [Float](repeating: 0, count: t * v)
        let rows = headRows.reserve(t * d)
        finalNorm(layerInputs.pointer + dimensions.layerCount * t * d, rows: t, into: rows, mean: headMean.reserve(t), inverse: headInverse.reserve(t))
        result.withUnsafeMutableBufferPointer { MatMul.multiply(rows, rows: t, architecture.lmHead, into: $0.baseAddress!) }
        return result
    }

    /// Checks the batch, installs the adapters' current parameters in the bank, embeds the tokens.
    private func prepare(_ batch: TrainingBatch) throws {
        let t = batch.tokenCount, d = dimensions.hiddenSize
        guard t > 0 else { throw TrainingError.invalidArgument("the batch holds no tokens") }
        if let bad = batch.tokens.firstIndex(where: { $0 < 0 || Int($0) >= dimensions.vocabularySize }) {
            throw TrainingError.invalidArgument("token \(bad) of the batch has id \(batch.tokens[bad]), outside the vocabulary of \(dimensions.vocabularySize)")
        }
        // Rotary tables and learned position embeddings both end at the context length.
        let longest = batch.segments.map(\.count).max() ?? 0
        guard longest <= dimensions.contextLength else {
            throw TrainingError.invalidArgument("a segment of \(longest) tokens is longer than the model's context of \(dimensions.contextLength)")
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
        embed(batch, into: layerInputs.reserve((dimensions.layerCount + 1) * t * d))
        projected.reserve(t * d)
        fusedQKV.reserve(t * dimensions.fusedQKVWidth)
    }

    private func reserveActivations(_ acts: LayerActivations, tokens: Int) {
        acts.reserve(tokens: tokens, dimensions: dimensions, gatedMLP: architecture.hasGatedMLP)
    }

    private func reserveBackward(tokens t: Int) {
        let c = dimensions
        dAttentionBlock.reserve(t * c.hiddenSize)
        dNormed.reserve(t * c.hiddenSize)
        dIntermediate.reserve(t * c.intermediateSize)
        dUp.reserve(t * c.intermediateSize)
        dAttention.reserve(t * c.queryDim)
        dQuery.reserve(t * c.queryDim)
        dKey.reserve(t * c.kvDim)
        dValue.reserve(t * c.kvDim)
        dFusedQKV.reserve(t * c.fusedQKVWidth)
    }

    /// Activation bytes per token and layer for this batch's adapters.
    private func activationBytesPerToken(_ batch: TrainingBatch) -> Int {
        var rows: [TargetModule: Int] = [:]
        var loraRank = 0
        for (index, _) in batch.groups where index >= 0 {
            for m in adapters[index].modules {
                rows[m.key.module] = max(rows[m.key.module] ?? 1, m.kind == .flora ? m.rank : 1)
                if m.kind.hasLoRAFactors { loraRank = max(loraRank, m.rank) }
            }
        }
        return LayerActivations.bytesPerToken(
            dimensions: dimensions, gatedMLP: architecture.hasGatedMLP, shapes: model.adapterShapes, rows: rows, loraRank: loraRank)
    }
}
