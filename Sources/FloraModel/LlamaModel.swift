// The Llama-family transformer (Llama 2/3, SmolLM, Mistral, Qwen2): pre-norm blocks of
// grouped-query attention with rotary positions and a SwiGLU MLP, tied or separate LM head.
// Weights are immutable and shared; the forward pass lives in LlamaForward.swift.

import FloraAdapters
import FloraTensor

/// One transformer block's weights, Hugging Face layout, linear weights packed for the kernels.
/// Public and read-only, so that code running its own passes over the frozen model (training's
/// forward and backward) reads the very weights the forward reads.
public struct LlamaLayer: Sendable {
    public let attentionNorm: Tensor        // [hidden]
    public let query: PackedMatrix          // [queryDim, hidden]
    public let key: PackedMatrix            // [kvDim, hidden]
    public let value: PackedMatrix          // [kvDim, hidden]
    public let output: PackedMatrix         // [hidden, queryDim]
    public let queryBias: Tensor?           // [queryDim] (Qwen2)
    public let keyBias: Tensor?             // [kvDim]
    public let valueBias: Tensor?           // [kvDim]
    public let mlpNorm: Tensor              // [hidden]
    public let gate: PackedMatrix           // [intermediate, hidden]
    public let up: PackedMatrix             // [intermediate, hidden]
    public let down: PackedMatrix           // [hidden, intermediate]

    /// The weight of one of the seven adaptable linear layers.
    public func linear(_ module: TargetModule) -> PackedMatrix {
        switch module {
        case .qProj: query
        case .kProj: key
        case .vProj: value
        case .oProj: output
        case .gateProj: gate
        case .upProj: up
        case .downProj: down
        }
    }

    /// The bias of a linear layer, nil when it has none.
    public func bias(_ module: TargetModule) -> Tensor? {
        switch module {
        case .qProj: queryBias
        case .kProj: keyBias
        case .vProj: valueBias
        default: nil
        }
    }
}

public final class LlamaModel: Sendable {
    public let config: LlamaConfig
    /// `[vocab, hidden]`; nil when the table stays quantized in `quantizedEmbedding`.
    let embedding: Tensor?
    /// The token embeddings kept in their quantized blocks, looked up one row per token without
    /// an fp32 table (vocab × hidden floats): the LM head itself when tied, else a table of its
    /// own. nil when `embedding` holds them.
    let quantizedEmbedding: PackedMatrix?
    public let layers: [LlamaLayer]
    public let finalNorm: Tensor            // [hidden]
    /// `[vocab, hidden]`: the embedding itself when tied.
    public let lmHead: PackedMatrix
    public let rotary: RotaryTable
    /// The shapes of the linear layers adapters may target.
    public let adapterShapes: AdapterTargetShapes

    public init(config: LlamaConfig, weights: some WeightSource) throws {
        try config.validate(source: weights.sourceName)
        self.config = config
        let c = config
        func load(_ name: String, _ shape: [Int]) throws -> Tensor {
            guard weights.contains(name) else { throw ModelError.missingTensor(source: weights.sourceName, name: name) }
            let t = try weights.tensor(name)
            guard t.shape == shape else {
                throw ModelError.wrongShape(source: weights.sourceName, name: name, expected: shape, found: t.shape)
            }
            return t
        }
        func linear(_ name: String, _ outputs: Int, _ inputs: Int, unpacked: Tensor? = nil) throws -> PackedMatrix {
            guard let packed = try weights.packedLinear(name) else { return PackedMatrix(try unpacked ?? load(name, [outputs, inputs])) }
            guard packed.outputs == outputs, packed.inputs == inputs else {
                throw ModelError.wrongShape(
                    source: weights.sourceName, name: name, expected: [outputs, inputs], found: [packed.outputs, packed.inputs])
            }
            return packed
        }
        func bias(_ name: String, _ count: Int) throws -> Tensor? {
            c.attentionBias ? try load(name, [count]) : nil
        }
        let tiedHead = c.tieWordEmbeddings || !weights.contains(LlamaTensorName.lmHead)
        let quantizedEmbedding = try weights.packedLinear(LlamaTensorName.embedding)
        if let quantizedEmbedding, quantizedEmbedding.outputs != c.vocabularySize || quantizedEmbedding.inputs != c.hiddenSize {
            throw ModelError.wrongShape(
                source: weights.sourceName, name: LlamaTensorName.embedding, expected: [c.vocabularySize, c.hiddenSize],
                found: [quantizedEmbedding.outputs, quantizedEmbedding.inputs])
        }
        self.quantizedEmbedding = quantizedEmbedding
        embedding = quantizedEmbedding == nil ? try load(LlamaTensorName.embedding, [c.vocabularySize, c.hiddenSize]) : nil
        layers = try (0..<c.layerCount).map { i in
            let name = { (suffix: String) in LlamaTensorName.layer(i, suffix) }
            return LlamaLayer(
                attentionNorm: try load(name("input_layernorm.weight"), [c.hiddenSize]),
                query: try linear(name("self_attn.q_proj.weight"), c.queryDim, c.hiddenSize),
                key: try linear(name("self_attn.k_proj.weight"), c.kvDim, c.hiddenSize),
                value: try linear(name("self_attn.v_proj.weight"), c.kvDim, c.hiddenSize),
                output: try linear(name("self_attn.o_proj.weight"), c.hiddenSize, c.queryDim),
                queryBias: try bias(name("self_attn.q_proj.bias"), c.queryDim),
                keyBias: try bias(name("self_attn.k_proj.bias"), c.kvDim),
                valueBias: try bias(name("self_attn.v_proj.bias"), c.kvDim),
                mlpNorm: try load(name("post_attention_layernorm.weight"), [c.hiddenSize]),
                gate: try linear(name("mlp.gate_proj.weight"), c.intermediateSize, c.hiddenSize),
                up: try linear(name("mlp.up_proj.weight"), c.intermediateSize, c.hiddenSize),
                down: try linear(name("mlp.down_proj.weight"), c.hiddenSize, c.intermediateSize)
            )
        }
        finalNorm = try load(LlamaTensorName.finalNorm, [c.hiddenSize])
        if !tiedHead {
            lmHead = try linear(LlamaTensorName.lmHead, c.vocabularySize, c.hiddenSize)
        } else if let quantizedEmbedding {
            lmHead = quantizedEmbedding
        } else {
            lmHead = try linear(LlamaTensorName.embedding, c.vocabularySize, c.hiddenSize, unpacked: embedding)
        }
        adapterShapes = try c.adapterShapes()
        rotary = RotaryTable(headDim: c.headDim, theta: c.ropeTheta, scaling: c.ropeScaling, maxPositions: c.contextLength)
    }
}

extension LlamaModel {
    /// The token embeddings, `[vocab, hidden]`. When they stay quantized the model keeps no fp32
    /// table, and this builds one (113 MB for SmolLM2): call it once, not per step.
    public var embeddingWeight: Tensor { embedding ?? quantizedEmbedding?.unpacked() ?? lmHead.unpacked() }
}

extension LlamaConfig {
    /// The shapes of the linear layers adapters may target.
    public func adapterShapes() throws -> AdapterTargetShapes {
        try AdapterTargetShapes.llama(
            layers: layerCount, hiddenSize: hiddenSize, attentionHeads: headCount, keyValueHeads: kvHeadCount,
            headDimension: headDim, intermediateSize: intermediateSize)
    }
}
