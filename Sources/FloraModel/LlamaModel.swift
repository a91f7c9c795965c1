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

    /// The weight of one of the seven adaptable linear layers (a Llama block has no other).
    public func linear(_ module: TargetModule) -> PackedMatrix {
        switch module {
        case .qProj: query
        case .kProj: key
        case .vProj: value
        case .oProj: output
        case .gateProj: gate
        case .upProj: up
        case .downProj: down
        case .cAttn, .attnCProj, .cFc, .mlpCProj: preconditionFailure("a Llama block has no \(module.rawValue)")
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

public final class LlamaModel: CausalLanguageModel {
    public let config: LlamaConfig
    /// `[vocab, hidden]`, fp32 or kept in its quantized rows.
    let embedding: TokenEmbedding
    public let layers: [LlamaLayer]
    public let finalNorm: Tensor            // [hidden]
    /// `[vocab, hidden]`: the embedding itself when tied.
    public let lmHead: PackedMatrix
    public let rotary: RotaryTable
    /// The shapes of the linear layers adapters may target.
    public let adapterShapes: AdapterTargetShapes

    public var architecture: String { "llama" }
    public var dimensions: ModelDimensions { config.dimensions }

    public init(config: LlamaConfig, weights: some WeightSource) throws {
        try config.validate(source: weights.sourceName)
        self.config = config
        let c = config
        (embedding, lmHead) = try TokenEmbedding.load(
            weights, embeddingName: LlamaTensorName.embedding, headName: LlamaTensorName.lmHead, tied: c.tieWordEmbeddings,
            vocabularySize: c.vocabularySize, hiddenSize: c.hiddenSize)
        layers = try (0..<c.layerCount).map { i in
            let name = { (suffix: String) in LlamaTensorName.layer(i, suffix) }
            func linear(_ suffix: String, _ outputs: Int, _ inputs: Int) throws -> PackedMatrix {
                try weights.linear(name(suffix), outputs: outputs, inputs: inputs)
            }
            return LlamaLayer(
                attentionNorm: try weights.tensor(name("input_layernorm.weight"), shape: [c.hiddenSize]),
                query: try linear("self_attn.q_proj.weight", c.queryDim, c.hiddenSize),
                key: try linear("self_attn.k_proj.weight", c.kvDim, c.hiddenSize),
                value: try linear("self_attn.v_proj.weight", c.kvDim, c.hiddenSize),
                output: try linear("self_attn.o_proj.weight", c.hiddenSize, c.queryDim),
                queryBias: try weights.bias(name("self_attn.q_proj.bias"), c.queryDim, present: c.attentionBias),
                keyBias: try weights.bias(name("self_attn.k_proj.bias"), c.kvDim, present: c.attentionBias),
                valueBias: try weights.bias(name("self_attn.v_proj.bias"), c.kvDim, present: c.attentionBias),
                mlpNorm: try weights.tensor(name("post_attention_layernorm.weight"), shape: [c.hiddenSize]),
                gate: try linear("mlp.gate_proj.weight", c.intermediateSize, c.hiddenSize),
                up: try linear("mlp.up_proj.weight", c.intermediateSize, c.hiddenSize),
                down: try linear("mlp.down_proj.weight", c.hiddenSize, c.intermediateSize)
            )
        }
        finalNorm = try weights.tensor(LlamaTensorName.finalNorm, shape: [c.hiddenSize])
        adapterShapes = try c.adapterShapes()
        rotary = RotaryTable(headDim: c.headDim, theta: c.ropeTheta, scaling: c.ropeScaling, maxPositions: c.contextLength)
    }
}

extension LlamaModel {
    /// The token embeddings, `[vocab, hidden]`. When they are packed (tied to the head, or kept
    /// quantized) the model keeps no row-major fp32 table, and this builds one (113 MB for
    /// SmolLM2): call it once, not per step.
    public var embeddingWeight: Tensor { embedding.unpacked }
}

extension LlamaConfig {
    /// The shapes of the linear layers adapters may target.
    public func adapterShapes() throws -> AdapterTargetShapes {
        try AdapterTargetShapes.llama(
            layers: layerCount, hiddenSize: hiddenSize, attentionHeads: headCount, keyValueHeads: kvHeadCount,
            headDimension: headDim, intermediateSize: intermediateSize, vocabularySize: vocabularySize)
    }
}
