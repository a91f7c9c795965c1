// config.json of a Hugging Face transformers model, Llama family (Llama 2/3, SmolLM, Mistral,
// Qwen2) or GPTBigCode (StarCoder): the fields Flora's model needs, with transformers' defaults,
// validated in one place. GPTBigCode's file uses GPT-2's names (`n_embd`, `n_layer`, ...), which
// transformers maps onto the common ones (its `attribute_map`); so does this decoder.
import Foundation

/// The fields of `config.json` Flora's architectures read. Decoding applies transformers' defaults;
/// `HFConfig.load(path:)` also validates and names the file and the field in its errors.
public struct HFConfig: Decodable, Sendable, Equatable {
    public var modelType: String
    public var architectures: [String]
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    /// Defaults to `numAttentionHeads` (no grouped-query attention).
    public var numKeyValueHeads: Int
    /// Nil when absent: then `hiddenSize / numAttentionHeads` (see `headDimension`).
    public var headDim: Int?
    public var rmsNormEps: Float
    public var ropeTheta: Float
    public var ropeScaling: RopeScaling?
    public var vocabSize: Int
    public var maxPositionEmbeddings: Int
    public var tieWordEmbeddings: Bool
    public var bosTokenId: Int?
    /// `eos_token_id` as a list (the file may hold one integer, a list, or null).
    public var eosTokenIds: [Int]
    /// Nil when absent (Qwen2 has q/k/v biases without saying so: the model decides by type).
    public var attentionBias: Bool?
    public var mlpBias: Bool?
    public var hiddenAct: String
    /// `torch_dtype` (or `dtype`, as transformers 5 writes it), e.g. "bfloat16".
    public var torchDtype: String?
    /// LayerNorm's epsilon (GPTBigCode's `layer_norm_epsilon`), nil when absent.
    public var layerNormEpsilon: Float?
    /// Mistral's (and Qwen2's, with `use_sliding_window`) attention window in tokens; nil when null or absent.
    public var slidingWindow: Int?
    /// Qwen2: whether `sliding_window` applies at all (false in every released Qwen2/2.5 model).
    public var useSlidingWindow: Bool?
    /// GPTBigCode: one key/value head shared by all query heads (StarCoder's multi-query attention).
    public var multiQuery: Bool?
    /// GPTBigCode: attention scores scaled by `1/√head_dim` (else unscaled).
    public var scaleAttentionWeights: Bool?

    /// `rope_scaling` (Llama 3's "llama3" type, "linear", "dynamic", "yarn" ...), kept as given; also
    /// transformers 5's `rope_parameters`, the same fields with `rope_theta` among them.
    public struct RopeScaling: Decodable, Sendable, Equatable {
        public var ropeType: String?
        /// Only in `rope_parameters`.
        public var ropeTheta: Float?
        public var factor: Float?
        public var lowFreqFactor: Float?
        public var highFreqFactor: Float?
        public var originalMaxPositionEmbeddings: Int?

        enum CodingKeys: String, CodingKey {
            case ropeType = "rope_type", type, factor, ropeTheta = "rope_theta"
            case lowFreqFactor = "low_freq_factor", highFreqFactor = "high_freq_factor"
            case originalMaxPositionEmbeddings = "original_max_position_embeddings"
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            ropeType = try c.decodeIfPresent(String.self, forKey: .ropeType) ?? c.decodeIfPresent(String.self, forKey: .type)
            ropeTheta = try c.decodeIfPresent(Float.self, forKey: .ropeTheta)
            factor = try c.decodeIfPresent(Float.self, forKey: .factor)
            lowFreqFactor = try c.decodeIfPresent(Float.self, forKey: .lowFreqFactor)
            highFreqFactor = try c.decodeIfPresent(Float.self, forKey: .highFreqFactor)
            originalMaxPositionEmbeddings = try c.decodeIfPresent(Int.self, forKey: .originalMaxPositionEmbeddings)
        }
    }

    enum CodingKeys: String, CodingKey {
        case modelType = "model_type", architectures
        case hiddenSize = "hidden_size", intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers", numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads", headDim = "head_dim"
        case rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta", ropeScaling = "rope_scaling", ropeParameters = "rope_parameters"
        case vocabSize = "vocab_size", maxPositionEmbeddings = "max_position_embeddings"
        case tieWordEmbeddings = "tie_word_embeddings", bosTokenId = "bos_token_id", eosTokenId = "eos_token_id"
        case attentionBias = "attention_bias", mlpBias = "mlp_bias", hiddenAct = "hidden_act"
        case torchDtype = "torch_dtype", dtype
        case layerNormEpsilon = "layer_norm_epsilon", multiQuery = "multi_query", scaleAttentionWeights = "scale_attn_weights"
        case slidingWindow = "sliding_window", useSlidingWindow = "use_sliding_window"
    }

    /// GPT-2's names, as GPTBigCode's config.json has them.
    enum GPT2Keys: String, CodingKey {
        case nEmbd = "n_embd", nInner = "n_inner", nLayer = "n_layer", nHead = "n_head", nPositions = "n_positions"
        case activationFunction = "activation_function"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let gpt2 = try decoder.container(keyedBy: GPT2Keys.self)
        /// The value under the common name, else under GPT-2's.
        func either<T: Decodable>(_ key: CodingKeys, _ alias: GPT2Keys) throws -> T? {
            if let value = try c.decodeIfPresent(T.self, forKey: key) { return value }
            return try gpt2.decodeIfPresent(T.self, forKey: alias)
        }
        func required<T: Decodable>(_ key: CodingKeys, _ alias: GPT2Keys) throws -> T {
            guard let value: T = try either(key, alias) else {
                throw DecodingError.keyNotFound(key, .init(codingPath: c.codingPath, debugDescription: "neither \(key.stringValue) nor \(alias.stringValue) is present"))
            }
            return value
        }
        modelType = try c.decode(String.self, forKey: .modelType)
        architectures = try c.decodeIfPresent([String].self, forKey: .architectures) ?? []
        hiddenSize = try required(.hiddenSize, .nEmbd)
        // GPTBigCode's n_inner may be null: 4 × n_embd.
        intermediateSize = try either(.intermediateSize, .nInner) ?? (gpt2.contains(.nEmbd) ? 4 * hiddenSize : c.decode(Int.self, forKey: .intermediateSize))
        numHiddenLayers = try required(.numHiddenLayers, .nLayer)
        numAttentionHeads = try required(.numAttentionHeads, .nHead)
        multiQuery = try c.decodeIfPresent(Bool.self, forKey: .multiQuery)
        // GPTBigCode's multi_query defaults to true, as transformers' GPTBigCodeConfig has it.
        let oneKeyValueHead = multiQuery ?? (modelType == "gpt_bigcode")
        numKeyValueHeads = try c.decodeIfPresent(Int.self, forKey: .numKeyValueHeads) ?? (oneKeyValueHead ? 1 : numAttentionHeads)
        headDim = try c.decodeIfPresent(Int.self, forKey: .headDim)
        rmsNormEps = try c.decodeIfPresent(Float.self, forKey: .rmsNormEps) ?? 1e-6
        // transformers 5 writes `rope_parameters` (theta and scaling in one object) where transformers 4
        // wrote `rope_theta` and `rope_scaling`; published checkpoints have either.
        let ropeParameters = try c.decodeIfPresent(RopeScaling.self, forKey: .ropeParameters)
        ropeTheta = try ropeParameters?.ropeTheta ?? c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? 10000
        ropeScaling = try ropeParameters ?? c.decodeIfPresent(RopeScaling.self, forKey: .ropeScaling)
        vocabSize = try c.decode(Int.self, forKey: .vocabSize)
        maxPositionEmbeddings = try either(.maxPositionEmbeddings, .nPositions) ?? 2048
        // transformers' default is true (PretrainedConfig); Llama-family files say so when they tie.
        tieWordEmbeddings = try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? (modelType == "gpt_bigcode")
        bosTokenId = try c.decodeIfPresent(Int.self, forKey: .bosTokenId)
        if let one = try? c.decodeIfPresent(Int.self, forKey: .eosTokenId) {
            eosTokenIds = [one]
        } else {
            eosTokenIds = try c.decodeIfPresent([Int].self, forKey: .eosTokenId) ?? []
        }
        attentionBias = try c.decodeIfPresent(Bool.self, forKey: .attentionBias)
        mlpBias = try c.decodeIfPresent(Bool.self, forKey: .mlpBias)
        hiddenAct = try either(.hiddenAct, .activationFunction) ?? (modelType == "gpt_bigcode" ? "gelu_pytorch_tanh" : "silu")
        torchDtype = try c.decodeIfPresent(String.self, forKey: .torchDtype) ?? c.decodeIfPresent(String.self, forKey: .dtype)
        layerNormEpsilon = try c.decodeIfPresent(Float.self, forKey: .layerNormEpsilon)
        scaleAttentionWeights = try c.decodeIfPresent(Bool.self, forKey: .scaleAttentionWeights)
        slidingWindow = try c.decodeIfPresent(Int.self, forKey: .slidingWindow)
        useSlidingWindow = try c.decodeIfPresent(Bool.self, forKey: .useSlidingWindow)
    }

    /// The width of one attention head: `head_dim`, or `hidden_size / num_attention_heads`.
    public var headDimension: Int { headDim ?? hiddenSize / max(numAttentionHeads, 1) }

    /// Reads, decodes and validates the `config.json` at `path`.
    public static func load(path: String) throws -> HFConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw FormatError(.io, file: path, expected: "a readable config.json", found: "\(error.localizedDescription)")
        }
        return try decode(data, file: path)
    }

    /// The `model_type`s whose fields this decoder knows: the Llama family and GPTBigCode.
    public static let modelTypes = ["llama", "mistral", "qwen2", "gpt_bigcode"]

    /// Decodes and validates `config.json` text; `file` names it in errors. Another architecture is
    /// refused by its `model_type` before any of its fields is read.
    public static func decode(_ data: Data, file: String) throws -> HFConfig {
        struct ModelType: Decodable { let model_type: String? }
        if let type = (try? JSONDecoder().decode(ModelType.self, from: data))?.model_type, !modelTypes.contains(type) {
            throw FormatError(.unsupportedType, file: file, item: "model_type",
                              expected: "an architecture Flora runs (\(modelTypes.joined(separator: ", ")))", found: "\"\(type)\"")
        }
        let config: HFConfig
        do {
            config = try JSONDecoder().decode(HFConfig.self, from: data)
        } catch let error as DecodingError {
            let (item, found) = JSONKey.describe(error)
            throw FormatError(.invalidValue, file: file, item: item, expected: "a transformers config.json of the Llama family or GPTBigCode", found: found)
        }
        try config.validate(file: file)
        return config
    }

    /// Checks what the model code relies on: positive sizes and heads that divide evenly.
    public func validate(file: String) throws {
        func require(_ ok: Bool, _ key: String, _ expected: String, _ found: Any) throws {
            if !ok { throw FormatError(.invalidValue, file: file, item: key, expected: expected, found: "\(found)") }
        }
        for (key, value) in [("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                             ("num_hidden_layers", numHiddenLayers), ("num_attention_heads", numAttentionHeads),
                             ("num_key_value_heads", numKeyValueHeads), ("vocab_size", vocabSize),
                             ("max_position_embeddings", maxPositionEmbeddings)] {
            try require(value > 0, key, "a positive integer", value)
        }
        try require(numAttentionHeads % numKeyValueHeads == 0, "num_key_value_heads",
                    "a divisor of num_attention_heads (\(numAttentionHeads))", numKeyValueHeads)
        if let headDim {
            try require(headDim > 0, "head_dim", "a positive integer", headDim)
        } else {
            try require(hiddenSize % numAttentionHeads == 0, "hidden_size",
                        "a multiple of num_attention_heads (\(numAttentionHeads)) when head_dim is absent", hiddenSize)
        }
        try require(rmsNormEps > 0 && rmsNormEps.isFinite, "rms_norm_eps", "a small positive number", rmsNormEps)
        if let layerNormEpsilon {
            try require(layerNormEpsilon > 0 && layerNormEpsilon.isFinite, "layer_norm_epsilon", "a small positive number", layerNormEpsilon)
        }
        try require(ropeTheta > 0 && ropeTheta.isFinite, "rope_theta", "a positive number", ropeTheta)
        for id in eosTokenIds + (bosTokenId.map { [$0] } ?? []) {
            try require(id >= 0 && id < vocabSize, "eos_token_id/bos_token_id", "ids below vocab_size (\(vocabSize))", id)
        }
    }
}
