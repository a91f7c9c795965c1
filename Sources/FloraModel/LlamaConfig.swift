// The hyper-parameters of a Llama-family model (Llama 2/3, SmolLM, Mistral, Qwen2), in
// Hugging Face's names, read from GGUF metadata or from config.json.

public struct LlamaConfig: Sendable, Equatable, TransformerShape {
    public var hiddenSize: Int          // d_model
    public var intermediateSize: Int    // SwiGLU width
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var vocabularySize: Int
    public var rmsNormEpsilon: Float
    public var ropeTheta: Float
    public var contextLength: Int
    public var tieWordEmbeddings: Bool
    /// Qwen2 puts biases on q, k and v.
    public var attentionBias: Bool
    public var ropeScaling: RopeScaling

    public init(
        hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int, kvHeadCount: Int,
        headDim: Int? = nil, vocabularySize: Int, rmsNormEpsilon: Float = 1e-5, ropeTheta: Float = 10_000,
        contextLength: Int = 2048, tieWordEmbeddings: Bool = true, attentionBias: Bool = false,
        ropeScaling: RopeScaling = .none
    ) {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim ?? (headCount > 0 ? hiddenSize / headCount : 0)
        self.vocabularySize = vocabularySize
        self.rmsNormEpsilon = rmsNormEpsilon
        self.ropeTheta = ropeTheta
        self.contextLength = contextLength
        self.tieWordEmbeddings = tieWordEmbeddings
        self.attentionBias = attentionBias
        self.ropeScaling = ropeScaling
    }

    public var dimensions: ModelDimensions {
        ModelDimensions(
            layerCount: layerCount, hiddenSize: hiddenSize, headCount: headCount, kvHeadCount: kvHeadCount, headDim: headDim,
            intermediateSize: intermediateSize, vocabularySize: vocabularySize, contextLength: contextLength)
    }

    public var queryDim: Int { headCount * headDim }       // q_proj outputs
    public var kvDim: Int { kvHeadCount * headDim }        // k_proj, v_proj outputs

    /// Checks the relations the forward pass relies on; `source` names the file in errors.
    public func validate(source: String) throws {
        func require(_ ok: Bool, _ what: String) throws {
            if !ok { throw ModelError.invalidConfig(source: source, detail: what) }
        }
        try require(hiddenSize > 0 && intermediateSize > 0 && layerCount > 0, "sizes must be positive (hidden \(hiddenSize), intermediate \(intermediateSize), layers \(layerCount))")
        try require(headCount > 0 && kvHeadCount > 0, "head counts must be positive (heads \(headCount), kv heads \(kvHeadCount))")
        try require(headCount % kvHeadCount == 0, "heads (\(headCount)) must be a multiple of kv heads (\(kvHeadCount))")
        try require(headDim > 0 && headDim % 2 == 0, "head_dim must be positive and even, found \(headDim)")
        try require(vocabularySize > 0, "vocab_size must be positive, found \(vocabularySize)")
        try require(contextLength > 0, "context length must be positive, found \(contextLength)")
        try require(rmsNormEpsilon > 0 && rmsNormEpsilon.isFinite, "rms_norm_eps must be positive, found \(rmsNormEpsilon)")
        try require(ropeTheta > 0 && ropeTheta.isFinite, "rope_theta must be positive, found \(ropeTheta)")
    }
}

/// How rotary frequencies are stretched for long contexts (Hugging Face's `rope_scaling`).
public enum RopeScaling: Sendable, Equatable {
    case none
    /// Every inverse frequency divided by `factor`.
    case linear(factor: Float)
    /// Llama 3.1's: low frequencies divided by `factor`, high ones kept, a smooth blend between.
    case llama3(factor: Float, lowFrequencyFactor: Float, highFrequencyFactor: Float, originalContextLength: Int)
    /// Per-frequency divisors, as GGUF stores Llama 3 scaling (`rope_freqs.weight`).
    case divisors([Float])

    /// Applies the scaling to HF's inverse frequencies `1 / theta^(2i/d)`.
    func scale(_ inverseFrequency: [Float]) -> [Float] {
        switch self {
        case .none:
            return inverseFrequency
        case .linear(let factor):
            return inverseFrequency.map { $0 / factor }
        case .divisors(let divisors):
            return zip(inverseFrequency, divisors).map { $0 / $1 }
        case .llama3(let factor, let low, let high, let original):
            let lowWavelength = Float(original) / low
            let highWavelength = Float(original) / high
            return inverseFrequency.map { f in
                let wavelength = 2 * Float.pi / f
                if wavelength < highWavelength { return f }
                if wavelength > lowWavelength { return f / factor }
                let smooth = (Float(original) / wavelength - low) / (high - low)
                return (1 - smooth) * f / factor + smooth * f
            }
        }
    }
}

public enum ModelError: Error, CustomStringConvertible, Sendable {
    case invalidConfig(source: String, detail: String)
    case unsupportedArchitecture(source: String, found: String)
    case missingTensor(source: String, name: String)
    case wrongShape(source: String, name: String, expected: [Int], found: [Int])
    case invalidBatch(String)

    public var description: String {
        switch self {
        case .invalidConfig(let source, let detail): "\(source): invalid model configuration: \(detail)"
        case .unsupportedArchitecture(let source, let found): "\(source): unsupported architecture '\(found)' (supported: llama, qwen2, mistral, gpt_bigcode/starcoder)"
        case .missingTensor(let source, let name): "\(source): missing tensor '\(name)'"
        case .wrongShape(let source, let name, let expected, let found): "\(source): tensor '\(name)' has shape \(found), expected \(expected)"
        case .invalidBatch(let detail): "invalid batch: \(detail)"
        }
    }
}
