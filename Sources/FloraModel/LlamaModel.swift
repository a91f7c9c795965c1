// The Llama-family transformer (Llama 2/3, SmolLM, Mistral, Qwen2): pre-norm blocks of
// grouped-query attention with rotary positions and a SwiGLU MLP, tied or separate LM head.
// Weights are immutable and shared; the forward pass lives in LlamaForward.swift.

import FloraAdapters
import FloraTensor

/// One transformer block's weights, Hugging Face layout, linear weights packed for the kernels.
struct LlamaLayer: Sendable {
    let attentionNorm: Tensor        // [hidden]
    let query: PackedMatrix          // [queryDim, hidden]
    let key: PackedMatrix            // [kvDim, hidden]
    let value: PackedMatrix          // [kvDim, hidden]
    let output: PackedMatrix         // [hidden, queryDim]
    let queryBias: Tensor?           // [queryDim] (Qwen2)
    let keyBias: Tensor?             // [kvDim]
    let valueBias: Tensor?           // [kvDim]
    let mlpNorm: Tensor              // [hidden]
    let gate: PackedMatrix           // [intermediate, hidden]
    let up: PackedMatrix             // [intermediate, hidden]
    let down: PackedMatrix           // [hidden, intermediate]
}

public final class LlamaModel: Sendable {
    public let config: LlamaConfig
    /// `[vocab, hidden]`; nil when the tied LM head holds the same rows quantized (looked up
    /// one row per token from it, which saves the fp32 table: vocab × hidden floats).
    let embedding: Tensor?
    let layers: [LlamaLayer]
    let finalNorm: Tensor            // [hidden]
    let lmHead: PackedMatrix         // [vocab, hidden]
    let rotary: RotaryTable
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
        let quantizedTiedHead = tiedHead ? try weights.packedLinear(LlamaTensorName.embedding) : nil
        embedding = quantizedTiedHead == nil ? try load(LlamaTensorName.embedding, [c.vocabularySize, c.hiddenSize]) : nil
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
        } else if let quantizedTiedHead {
            guard quantizedTiedHead.outputs == c.vocabularySize, quantizedTiedHead.inputs == c.hiddenSize else {
                throw ModelError.wrongShape(
                    source: weights.sourceName, name: LlamaTensorName.embedding, expected: [c.vocabularySize, c.hiddenSize],
                    found: [quantizedTiedHead.outputs, quantizedTiedHead.inputs])
            }
            lmHead = quantizedTiedHead
        } else {
            lmHead = try linear(LlamaTensorName.embedding, c.vocabularySize, c.hiddenSize, unpacked: embedding)
        }
        adapterShapes = try c.adapterShapes()
        rotary = RotaryTable(headDim: c.headDim, theta: c.ropeTheta, scaling: c.ropeScaling, maxPositions: c.contextLength)
    }
}

extension LlamaConfig {
    /// The shapes of the linear layers adapters may target.
    public func adapterShapes() throws -> AdapterTargetShapes {
        try AdapterTargetShapes.llama(
            layers: layerCount, hiddenSize: hiddenSize, attentionHeads: headCount, keyValueHeads: kvHeadCount,
            headDimension: headDim, intermediateSize: intermediateSize)
    }
}
