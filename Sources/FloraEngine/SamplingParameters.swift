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

    public init(
        temperature: Float = 0, topK: Int = 0, topP: Float = 1, seed: UInt64? = nil, maxTokens: Int = 16,
        logprobs: Int = 0, stopTokenIds: [Int32] = [], stopStrings: [String] = []
    ) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.seed = seed
        self.maxTokens = maxTokens
        self.logprobs = logprobs
        self.stopTokenIds = stopTokenIds
        self.stopStrings = stopStrings
    }

    public static let maxLogprobs = 20

    /// Throws an error that names the parameter and the accepted range.
    public func validate() throws {
        guard temperature.isFinite, temperature >= 0 else { throw SamplingError.invalid("temperature", "must be a finite number ≥ 0, got \(temperature)") }
        guard topK >= 0 else { throw SamplingError.invalid("top_k", "must be ≥ 0 (0 disables it), got \(topK)") }
        guard topP.isFinite, topP > 0, topP <= 1 else { throw SamplingError.invalid("top_p", "must be in (0, 1], got \(topP)") }
        guard maxTokens >= 1 else { throw SamplingError.invalid("max_tokens", "must be ≥ 1, got \(maxTokens)") }
        guard (0...Self.maxLogprobs).contains(logprobs) else {
            throw SamplingError.invalid("logprobs", "must be in 0...\(Self.maxLogprobs), got \(logprobs)")
        }
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
