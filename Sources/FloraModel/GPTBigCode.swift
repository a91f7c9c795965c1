// GPTBigCode, the architecture of StarCoder (Li et al., "StarCoder: may the source be with you!",
// 2023), the model the fLoRA paper adapts: GPT-2's pre-norm blocks (LayerNorm with bias, learned
// absolute position embeddings, a GELU MLP, biases on every linear layer) with multi-query
// attention, one key/value head shared by all query heads, computed by one fused projection
// c_attn. Weights are immutable and shared; adapters act on c_attn, attn.c_proj, c_fc and
// mlp.c_proj under PEFT's names for this family.

import FloraAdapters
import FloraFormats
import FloraTensor

/// One block's weights, Hugging Face layout (`[d_out, d_in]`), linear weights packed for the kernels.
public struct GPTBigCodeLayer: Sendable {
    public let attentionNorm: Tensor, attentionNormBias: Tensor   // ln_1: [hidden]
    public let fusedQKV: PackedMatrix                             // c_attn: [hidden + 2·kvDim, hidden]
    public let fusedQKVBias: Tensor                               // [hidden + 2·kvDim]
    public let output: PackedMatrix, outputBias: Tensor           // attn.c_proj: [hidden, hidden], [hidden]
    public let mlpNorm: Tensor, mlpNormBias: Tensor               // ln_2: [hidden]
    public let fc: PackedMatrix, fcBias: Tensor                   // c_fc: [inner, hidden], [inner]
    public let projection: PackedMatrix, projectionBias: Tensor   // mlp.c_proj: [hidden, inner], [hidden]
}

/// Hugging Face names of GPTBigCode's tensors.
enum GPTBigCodeTensorName {
    static let tokenEmbedding = "transformer.wte.weight"
    static let positionEmbedding = "transformer.wpe.weight"
    static let finalNorm = "transformer.ln_f"
    static let lmHead = "lm_head.weight"
    static func layer(_ i: Int, _ suffix: String) -> String { "transformer.h.\(i).\(suffix)" }

    /// Hugging Face name → the name llama.cpp's converter gives it in a `starcoder` GGUF file.
    @Sendable static func gguf(_ name: String) -> String? {
        switch name {
        case tokenEmbedding: return "token_embd.weight"
        case positionEmbedding: return "position_embd.weight"
        case finalNorm + ".weight": return "output_norm.weight"
        case finalNorm + ".bias": return "output_norm.bias"
        case lmHead: return "output.weight"
        default: break
        }
        let parts = name.split(separator: ".", maxSplits: 3)
        guard parts.count == 4, parts[0] == "transformer", parts[1] == "h", let layer = Int(parts[2]) else { return nil }
        let rest = parts[3]
        let modules = [("ln_1.", "attn_norm."), ("attn.c_attn.", "attn_qkv."), ("attn.c_proj.", "attn_output."),
                       ("ln_2.", "ffn_norm."), ("mlp.c_fc.", "ffn_up."), ("mlp.c_proj.", "ffn_down.")]
        for (hf, gguf) in modules where rest.hasPrefix(hf) {
            let parameter = rest.dropFirst(hf.count)
            guard parameter == "weight" || parameter == "bias" else { return nil }
            return "blk.\(layer).\(gguf)\(parameter)"
        }
        return nil
    }
}

/// Public and read-only, like `LlamaModel`, so that training's own passes over the frozen model
/// read the very weights the forward reads.
public final class GPTBigCodeModel: CausalLanguageModel {
    public let config: GPTBigCodeConfig
    let embedding: TokenEmbedding                        // wte: [vocab, hidden]
    public let positionEmbedding: Tensor                 // wpe: [n_positions, hidden]
    public let layers: [GPTBigCodeLayer]
    public let finalNorm: Tensor, finalNormBias: Tensor  // ln_f: [hidden]
    /// `[vocab, hidden]`: wte itself when tied.
    public let lmHead: PackedMatrix
    public let adapterShapes: AdapterTargetShapes

    public var architecture: String { "gpt_bigcode" }
    public var dimensions: ModelDimensions { config.dimensions }

    public init(config: GPTBigCodeConfig, weights: some WeightSource) throws {
        try config.validate(source: weights.sourceName)
        self.config = config
        let c = config
        (embedding, lmHead) = try TokenEmbedding.load(
            weights, embeddingName: GPTBigCodeTensorName.tokenEmbedding, headName: GPTBigCodeTensorName.lmHead,
            tied: c.tieWordEmbeddings, vocabularySize: c.vocabularySize, hiddenSize: c.hiddenSize)
        positionEmbedding = try weights.tensor(GPTBigCodeTensorName.positionEmbedding, shape: [c.contextLength, c.hiddenSize])
        layers = try (0..<c.layerCount).map { i in
            func vector(_ module: String, _ parameter: String, _ count: Int) throws -> Tensor {
                try weights.tensor(GPTBigCodeTensorName.layer(i, "\(module).\(parameter)"), shape: [count])
            }
            func linear(_ module: String, _ outputs: Int, _ inputs: Int) throws -> (PackedMatrix, Tensor) {
                (try weights.linear(GPTBigCodeTensorName.layer(i, module + ".weight"), outputs: outputs, inputs: inputs),
                 try vector(module, "bias", outputs))
            }
            let (fusedQKV, fusedQKVBias) = try linear("attn.c_attn", c.fusedQKVWidth, c.hiddenSize)
            let (output, outputBias) = try linear("attn.c_proj", c.hiddenSize, c.hiddenSize)
            let (fc, fcBias) = try linear("mlp.c_fc", c.innerSize, c.hiddenSize)
            let (projection, projectionBias) = try linear("mlp.c_proj", c.hiddenSize, c.innerSize)
            return GPTBigCodeLayer(
                attentionNorm: try vector("ln_1", "weight", c.hiddenSize), attentionNormBias: try vector("ln_1", "bias", c.hiddenSize),
                fusedQKV: fusedQKV, fusedQKVBias: fusedQKVBias, output: output, outputBias: outputBias,
                mlpNorm: try vector("ln_2", "weight", c.hiddenSize), mlpNormBias: try vector("ln_2", "bias", c.hiddenSize),
                fc: fc, fcBias: fcBias, projection: projection, projectionBias: projectionBias)
        }
        finalNorm = try weights.tensor(GPTBigCodeTensorName.finalNorm + ".weight", shape: [c.hiddenSize])
        finalNormBias = try weights.tensor(GPTBigCodeTensorName.finalNorm + ".bias", shape: [c.hiddenSize])
        adapterShapes = try c.adapterShapes()
    }

    public func forward(_ batch: Batch, cache: PagedKVCache, scratch: ForwardScratch, adapters: AdapterBank?) throws -> Logits {
        let c = config
        let linear = try beginForward(batch, cache: cache, scratch: scratch, adapters: adapters)
        let hidden = scratch.hidden.pointer       // [T, hidden]
        for i in 0..<batch.tokenCount {
            embedding.copyRow(Int(batch.tokens[i]), into: hidden + i * c.hiddenSize)
        }
        // Before the positions are added: an adapter's saved wte replaces the token's row alone.
        linear.adaptEmbeddings(batch, hidden: hidden)
        for i in 0..<batch.tokenCount {
            Elementwise.add(positionEmbedding.pointer + Int(batch.positions[i]) * c.hiddenSize, into: hidden + i * c.hiddenSize, count: c.hiddenSize)
        }
        for (index, layer) in layers.enumerated() {
            attentionBlock(layer, index: index, batch: batch, cache: cache, scratch: scratch, linear: linear)
            mlpBlock(layer, index: index, scratch: scratch, linear: linear)
        }

        return headLogits(batch, hidden: hidden, head: lmHead, scratch: scratch, linear: linear) { row, normed in
            Elementwise.layerNorm(
                row, weight: finalNorm.pointer, bias: finalNormBias.pointer, epsilon: c.layerNormEpsilon, rows: 1, count: c.hiddenSize,
                into: normed)
        }
    }

    /// LayerNorm → c_attn → split into q, k, v → attention over the cache → c_proj → residual.
    private func attentionBlock(
        _ layer: GPTBigCodeLayer, index: Int, batch: Batch, cache: PagedKVCache, scratch: ForwardScratch, linear: LinearLayers
    ) {
        let c = config
        let t = batch.tokenCount
        let hidden = scratch.hidden.pointer, normed = scratch.normed.pointer
        Elementwise.layerNorm(
            hidden, weight: layer.attentionNorm.pointer, bias: layer.attentionNormBias.pointer, epsilon: c.layerNormEpsilon,
            rows: t, count: c.hiddenSize, into: normed)
        let fused = scratch.fusedQKV.pointer                                      // [T, hidden + 2·kvDim]
        linear(index, .cAttn, layer.fusedQKV, bias: layer.fusedQKVBias, normed, into: fused)
        let q = scratch.query.pointer, k = scratch.key.pointer, v = scratch.value.pointer  // [T, hidden], [T, kvDim] ×2
        c.splitFusedQKV(fused, tokens: t, queries: q, keys: k, values: v)
        cache.store(layer: index, batch: batch, keys: k, values: v)
        let attended = scratch.attention.pointer                                  // [T, hidden]
        let scale = c.scalesAttentionWeights ? 1 / Float(c.headDim).squareRoot() : 1
        cache.attend(layer: index, batch: batch, queries: q, dimensions: c.dimensions, scale: scale, scratch: scratch, into: attended)
        let projected = scratch.projected.pointer                                 // [T, hidden]
        linear(index, .attnCProj, layer.output, bias: layer.outputBias, attended, into: projected)
        Elementwise.add(projected, into: hidden, count: t * c.hiddenSize)
    }

    /// LayerNorm → c_fc → GELU → c_proj → residual.
    private func mlpBlock(_ layer: GPTBigCodeLayer, index: Int, scratch: ForwardScratch, linear: LinearLayers) {
        let c = config
        let t = linear.tokens
        let hidden = scratch.hidden.pointer, normed = scratch.normed.pointer
        Elementwise.layerNorm(
            hidden, weight: layer.mlpNorm.pointer, bias: layer.mlpNormBias.pointer, epsilon: c.layerNormEpsilon,
            rows: t, count: c.hiddenSize, into: normed)
        let inner = scratch.gate.pointer                                          // [T, inner]
        linear(index, .cFc, layer.fc, bias: layer.fcBias, normed, into: inner)
        Elementwise.gelu(inner, count: t * c.innerSize, form: c.activation)
        let projected = scratch.projected.pointer                                 // [T, hidden]
        linear(index, .mlpCProj, layer.projection, bias: layer.projectionBias, inner, into: projected)
        Elementwise.add(projected, into: hidden, count: t * c.hiddenSize)
    }
}

extension GPTBigCodeModel {
    /// wte, `[vocab, hidden]`. When it stays quantized the model keeps no fp32 table, and this
    /// builds one: call it once, not per step.
    public var embeddingWeight: Tensor { embedding.unpacked }
}

extension GPTBigCodeConfig {
    /// Copies c_attn's output apart: `[q | k | v]` with multi-query attention, else per head
    /// `[q₀ k₀ v₀ | q₁ k₁ v₁ | …]` (how transformers views it). `fused` `[T, fusedQKVWidth]`;
    /// `q` `[T, hidden]`; `k`, `v` `[T, kvDim]`.
    public func splitFusedQKV(
        _ fused: UnsafePointer<Float>, tokens: Int, queries q: UnsafeMutablePointer<Float>,
        keys k: UnsafeMutablePointer<Float>, values v: UnsafeMutablePointer<Float>
    ) {
        forEachFusedRun(tokens: tokens) { at, qAt, kvAt, qCount, kvCount in
            (q + qAt).update(from: fused + at, count: qCount)
            (k + kvAt).update(from: fused + at + qCount, count: kvCount)
            (v + kvAt).update(from: fused + at + qCount + kvCount, count: kvCount)
        }
    }

    /// The inverse of `splitFusedQKV`: lays q, k and v out as c_attn's output is laid out (in
    /// training, their gradients, to make c_attn's output gradient).
    public func joinFusedQKV(
        queries q: UnsafePointer<Float>, keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>, tokens: Int,
        into fused: UnsafeMutablePointer<Float>
    ) {
        forEachFusedRun(tokens: tokens) { at, qAt, kvAt, qCount, kvCount in
            (fused + at).update(from: q + qAt, count: qCount)
            (fused + at + qCount).update(from: k + kvAt, count: kvCount)
            (fused + at + qCount + kvCount).update(from: v + kvAt, count: kvCount)
        }
    }

    /// Calls `body(fused offset, q offset, k/v offset, q count, k/v count)` for every contiguous
    /// `[q k v]` run of c_attn's output: one per token with multi-query attention, else one per
    /// token and head.
    private func forEachFusedRun(tokens: Int, _ body: (Int, Int, Int, Int, Int) -> Void) {
        let d = headDim, width = fusedQKVWidth
        for i in 0..<tokens {
            if isMultiQuery {
                body(i * width, i * hiddenSize, i * kvDim, hiddenSize, kvDim)
            } else {
                for h in 0..<headCount { body(i * width + h * 3 * d, i * hiddenSize + h * d, i * kvDim + h * d, d, d) }
            }
        }
    }
}

extension GGUFWeightSource {
    /// A `starcoder` file: its tensors under GPTBigCode's Hugging Face names, rows as stored
    /// (the converter copies c_attn unchanged; GPTBigCode has no rotary to permute for).
    public init(
        starcoder file: GGUFFile, keepsQuantizedWeights: Bool = GGUFWeightSource.keepsQuantizedWeightsByDefault,
        products: QuantizedProducts = .processDefault
    ) {
        self.init(file: file, naming: GPTBigCodeTensorName.gguf, keepsQuantizedWeights: keepsQuantizedWeights, products: products)
    }
}
