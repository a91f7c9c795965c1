// Read-only access to a loaded model's weights for code outside FloraModel that runs its own
// passes over them (FloraTraining's forward and backward). Nothing here copies or changes them.

import FloraAdapters
import FloraTensor

/// One transformer block's weights, as the model holds them (Hugging Face layout, linear weights packed).
public struct LlamaLayerWeights: Sendable {
    public let attentionNorm: Tensor   // [hidden]
    public let mlpNorm: Tensor         // [hidden]
    public let query: PackedMatrix     // [queryDim, hidden]
    public let key: PackedMatrix       // [kvDim, hidden]
    public let value: PackedMatrix     // [kvDim, hidden]
    public let output: PackedMatrix    // [hidden, queryDim]
    public let gate: PackedMatrix      // [intermediate, hidden]
    public let up: PackedMatrix        // [intermediate, hidden]
    public let down: PackedMatrix      // [hidden, intermediate]
    public let queryBias: Tensor?      // [queryDim] (Qwen2)
    public let keyBias: Tensor?        // [kvDim]
    public let valueBias: Tensor?      // [kvDim]

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

/// The rotary tables the forward uses (HF `rotate_half`, rope scaling applied): for position p
/// and pair i < headDim/2, `cos[p · headDim/2 + i]` and `sin[p · headDim/2 + i]`.
public struct RotaryTables: Sendable {
    public let headDim: Int
    public let maxPositions: Int
    public let cos: FloatBuffer   // [maxPositions, headDim / 2]
    public let sin: FloatBuffer   // [maxPositions, headDim / 2]
}

extension LlamaModel {
    /// The token embeddings, `[vocab, hidden]`. When the tied head stays quantized the model
    /// keeps no fp32 table, and this builds one (113 MB for SmolLM2): call it once, not per step.
    public var embeddingWeight: Tensor { embedding ?? lmHead.unpacked() }
    /// The final RMSNorm's weight, `[hidden]`.
    public var finalNormWeight: Tensor { finalNorm }
    /// The LM head, `[vocab, hidden]` (the embedding itself when tied).
    public var lmHeadWeight: PackedMatrix { lmHead }
    /// Block `index`'s weights.
    public func layerWeights(_ index: Int) -> LlamaLayerWeights {
        let l = layers[index]
        return LlamaLayerWeights(
            attentionNorm: l.attentionNorm, mlpNorm: l.mlpNorm, query: l.query, key: l.key, value: l.value, output: l.output,
            gate: l.gate, up: l.up, down: l.down, queryBias: l.queryBias, keyBias: l.keyBias, valueBias: l.valueBias)
    }
    /// The rotary cos/sin tables of this model.
    public var rotaryTables: RotaryTables {
        RotaryTables(headDim: rotary.headDim, maxPositions: rotary.maxPositions, cos: rotary.cos, sin: rotary.sin)
    }
}
