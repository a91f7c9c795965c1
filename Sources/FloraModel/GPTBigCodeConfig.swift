// The hyper-parameters of a GPTBigCode model (StarCoder, StarCoderBase, SantaCoder,
// tiny_starcoder), read from a Hugging Face config.json (`model_type: gpt_bigcode`) or from a
// GGUF file as llama.cpp's converter writes it (`general.architecture: starcoder`).

import FloraAdapters
import FloraFormats
import FloraTensor

public struct GPTBigCodeConfig: Sendable, Equatable, TransformerShape {
    public var hiddenSize: Int          // n_embd
    public var innerSize: Int           // n_inner: the MLP's width
    public var layerCount: Int          // n_layer
    public var headCount: Int           // n_head
    /// 1 with multi-query attention (StarCoder), else `headCount`.
    public var kvHeadCount: Int
    public var vocabularySize: Int
    /// n_positions: the rows of the learned position embeddings.
    public var contextLength: Int
    public var layerNormEpsilon: Float
    public var activation: Elementwise.GELU
    public var tieWordEmbeddings: Bool
    /// Attention scores scaled by `1/√headDim` (transformers' `scale_attn_weights`), else unscaled.
    public var scalesAttentionWeights: Bool

    public init(
        hiddenSize: Int, innerSize: Int? = nil, layerCount: Int, headCount: Int, multiQuery: Bool = true,
        vocabularySize: Int, contextLength: Int, layerNormEpsilon: Float = 1e-5, activation: Elementwise.GELU = .tanh,
        tieWordEmbeddings: Bool = true, scalesAttentionWeights: Bool = true
    ) {
        self.hiddenSize = hiddenSize
        self.innerSize = innerSize ?? 4 * hiddenSize
        self.layerCount = layerCount
        self.headCount = headCount
        kvHeadCount = multiQuery ? 1 : headCount
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.layerNormEpsilon = layerNormEpsilon
        self.activation = activation
        self.tieWordEmbeddings = tieWordEmbeddings
        self.scalesAttentionWeights = scalesAttentionWeights
    }

    public var headDim: Int { headCount > 0 ? hiddenSize / headCount : 0 }
    public var kvDim: Int { kvHeadCount * headDim }
    /// c_attn's outputs: the queries, then the keys and values.
    public var fusedQKVWidth: Int { hiddenSize + 2 * kvDim }
    /// Whether one key/value head serves every query head. c_attn's output is then `[q | k | v]`;
    /// otherwise transformers reads it per head, `[q₀ k₀ v₀ | q₁ k₁ v₁ | …]`.
    public var isMultiQuery: Bool { kvHeadCount == 1 }

    public var dimensions: ModelDimensions {
        ModelDimensions(
            layerCount: layerCount, hiddenSize: hiddenSize, headCount: headCount, kvHeadCount: kvHeadCount, headDim: headDim,
            intermediateSize: innerSize, vocabularySize: vocabularySize, contextLength: contextLength, fusedQKVWidth: fusedQKVWidth)
    }

    /// The shapes of the linear layers adapters may target.
    public func adapterShapes() throws -> AdapterTargetShapes {
        try AdapterTargetShapes.gptBigCode(layers: layerCount, hiddenSize: hiddenSize, keyValueDimension: kvDim, innerSize: innerSize,
                                    vocabularySize: vocabularySize)
    }

    /// Checks the relations the forward pass relies on; `source` names the file in errors.
    public func validate(source: String) throws {
        func require(_ ok: Bool, _ what: String) throws {
            if !ok { throw ModelError.invalidConfig(source: source, detail: what) }
        }
        try require(hiddenSize > 0 && innerSize > 0 && layerCount > 0, "sizes must be positive (n_embd \(hiddenSize), n_inner \(innerSize), n_layer \(layerCount))")
        try require(headCount > 0 && hiddenSize % headCount == 0, "n_embd (\(hiddenSize)) must be a positive multiple of n_head (\(headCount))")
        try require(kvHeadCount == 1 || kvHeadCount == headCount, "key-value heads must be 1 (multi-query) or n_head (\(headCount)), found \(kvHeadCount)")
        try require(vocabularySize > 0, "vocab_size must be positive, found \(vocabularySize)")
        try require(contextLength > 0, "n_positions must be positive, found \(contextLength)")
        try require(layerNormEpsilon > 0 && layerNormEpsilon.isFinite, "layer_norm_epsilon must be positive, found \(layerNormEpsilon)")
    }
}

extension GPTBigCodeConfig {
    /// Reads a `gpt_bigcode` config.json.
    public init(hf config: HFConfig, source: String) throws {
        guard config.modelType == "gpt_bigcode" else { throw ModelError.unsupportedArchitecture(source: source, found: config.modelType) }
        let activation: Elementwise.GELU
        switch config.hiddenAct {
        case "gelu": activation = .exact
        case "gelu_pytorch_tanh", "gelu_new", "gelu_fast": activation = .tanh
        default:
            throw ModelError.invalidConfig(
                source: source, detail: "activation_function '\(config.hiddenAct)' is not supported (gelu, gelu_pytorch_tanh, gelu_new, gelu_fast)")
        }
        guard config.numKeyValueHeads == 1 || config.numKeyValueHeads == config.numAttentionHeads else {
            throw ModelError.invalidConfig(source: source, detail: "GPTBigCode has 1 or n_head key-value heads, found \(config.numKeyValueHeads)")
        }
        self.init(
            hiddenSize: config.hiddenSize, innerSize: config.intermediateSize, layerCount: config.numHiddenLayers,
            headCount: config.numAttentionHeads, multiQuery: config.numKeyValueHeads == 1,
            vocabularySize: config.vocabSize, contextLength: config.maxPositionEmbeddings,
            layerNormEpsilon: config.layerNormEpsilon ?? 1e-5, activation: activation, tieWordEmbeddings: config.tieWordEmbeddings,
            scalesAttentionWeights: config.scaleAttentionWeights ?? true)
        try validate(source: source)
    }

    /// Reads a `starcoder` GGUF file's hyper-parameters (llama.cpp runs its MLP with the tanh GELU).
    public init(gguf file: GGUFFile) throws {
        let arch = try file.string("general.architecture")
        guard arch == "starcoder" else { throw ModelError.unsupportedArchitecture(source: file.path, found: arch) }
        let heads = try file.int("starcoder.attention.head_count")
        let kvHeads = try file.optionalInt("starcoder.attention.head_count_kv") ?? heads
        guard kvHeads == 1 || kvHeads == heads else {
            throw ModelError.invalidConfig(
                source: file.path, detail: "starcoder.attention.head_count_kv must be 1 or the head count (\(heads)), found \(kvHeads)")
        }
        self.init(
            hiddenSize: try file.int("starcoder.embedding_length"),
            innerSize: try file.int("starcoder.feed_forward_length"),
            layerCount: try file.int("starcoder.block_count"),
            headCount: heads, multiQuery: kvHeads == 1,
            vocabularySize: try file.optionalInt("starcoder.vocab_size") ?? file.tensorInfo("token_embd.weight").shape.first ?? 0,
            contextLength: try file.int("starcoder.context_length"),
            layerNormEpsilon: try file.float("starcoder.attention.layer_norm_epsilon"),
            activation: .tanh, tieWordEmbeddings: file.tensorInfos["output.weight"] == nil)
        try validate(source: file.path)
    }
}
