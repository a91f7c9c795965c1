// How one request picks its tokens, with OpenAI's and vLLM's meanings.

public struct SamplingParameters: Sendable, Equatable {
    /// 0 picks the most likely token (greedy).
    public var temperature: Float
    /// Keep only the `topK` most likely tokens; 0 keeps all.
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probability reaches `topP`; 1 keeps all.
    public var topP: Float
    /// The same seed gives the same tokens, alone or in a busy batch.
    public var seed: UInt64?
    public var maxTokens: Int
    /// How many of the most likely tokens to report with each generated token (0: none).
    public var logprobs: Int
    public var stopTokenIds: [Int32]
    public var stopStrings: [String]
    /// vLLM's `ignore_eos`: the model's end-of-sequence tokens do not finish the sequence (they
    /// are generated as any other token); `stopTokenIds` and `stopStrings` still do.
    public var ignoreEOS: Bool
    /// vLLM's `min_tokens`: until this many tokens were generated, the stop tokens (the model's
    /// unless `ignoreEOS`, and `stopTokenIds`) cannot be sampled and stop strings end nothing.
    public var minTokens: Int
    /// vLLM's (CTRL's) `repetition_penalty` over the prompt's and the output's tokens: a positive
    /// logit is divided by it, another multiplied; 1 is off.
    public var repetitionPenalty: Float
    /// OpenAI's `presence_penalty`, over the output's tokens: subtracted once from the logit of
    /// every token generated so far; 0 is off.
    public var presencePenalty: Float
    /// OpenAI's `frequency_penalty`, over the output's tokens: subtracted from a token's logit
    /// once per time it was generated; 0 is off.
    public var frequencyPenalty: Float
    /// OpenAI's `logit_bias`: added to the logits of these tokens before anything else.
    public var logitBias: [Int32: Float]

    public init(
        temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64? = nil, maxTokens: Int = 16,
        logprobs: Int = 0, stopTokenIds: [Int32] = [], stopStrings: [String] = [],
        ignoreEOS: Bool = false, minTokens: Int = 0, repetitionPenalty: Float = 1, presencePenalty: Float = 0,
        frequencyPenalty: Float = 0, logitBias: [Int32: Float] = [:]
    ) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
        self.maxTokens = maxTokens
        self.logprobs = logprobs
        self.stopTokenIds = stopTokenIds
        self.stopStrings = stopStrings
        self.ignoreEOS = ignoreEOS
        self.minTokens = minTokens
        self.repetitionPenalty = repetitionPenalty
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.logitBias = logitBias
    }

    public static let maxLogprobs = 20
    /// OpenAI's bounds for `presence_penalty` and `frequency_penalty`.
    public static let penaltyRange: ClosedRange<Float> = -2...2
    /// OpenAI's bounds for a `logit_bias` value.
    public static let logitBiasRange: ClosedRange<Float> = -100...100

    /// Throws an error that names the parameter and the accepted range.
    public func validate() throws {
        guard temperature.isFinite, temperature >= 0 else { throw SamplingError.invalid("temperature", "must be a finite number ≥ 0, got \(temperature)") }
        guard topK >= 0 else { throw SamplingError.invalid("top_k", "must be ≥ 0 (0 disables it), got \(topK)") }
        guard topP.isFinite, topP > 0, topP <= 1 else { throw SamplingError.invalid("top_p", "must be in (0, 1], got \(topP)") }
        guard maxTokens >= 1 else { throw SamplingError.invalid("max_tokens", "must be ≥ 1, got \(maxTokens)") }
        guard (0...Self.maxLogprobs).contains(logprobs) else {
            throw SamplingError.invalid("logprobs", "must be in 0...\(Self.maxLogprobs), got \(logprobs)")
        }
        guard minTokens >= 0 else { throw SamplingError.invalid("min_tokens", "must be ≥ 0, got \(minTokens)") }
        guard minTokens <= maxTokens else {
            throw SamplingError.invalid("min_tokens", "must be ≤ max_tokens (\(maxTokens)), got \(minTokens)")
        }
        guard repetitionPenalty.isFinite, repetitionPenalty > 0 else {
            throw SamplingError.invalid("repetition_penalty", "must be a finite number > 0 (1 disables it), got \(repetitionPenalty)")
        }
        for (name, value) in [("presence_penalty", presencePenalty), ("frequency_penalty", frequencyPenalty)] {
            guard Self.penaltyRange.contains(value) else {
                throw SamplingError.invalid(name, "must be in -2...2, got \(value)")
            }
        }
        if let (token, bias) = logitBias.sorted(by: { $0.key < $1.key }).first(where: { !Self.logitBiasRange.contains($0.value) }) {
            throw SamplingError.invalid("logit_bias", "value for token \(token) must be in -100...100, got \(bias)")
        }
    }

    /// Whether any logits processor changes the logits (otherwise the sampler reads the model's
    /// logits as they are).
    public var processesLogits: Bool {
        minTokens > 0 || repetitionPenalty != 1 || presencePenalty != 0 || frequencyPenalty != 0 || !logitBias.isEmpty
    }
}

public enum SamplingError: Error, CustomStringConvertible, Sendable {
    case invalid(String, String)
    public var description: String {
        switch self {
        case .invalid(let name, let detail): "\(name) \(detail)"
        }
    }
}
