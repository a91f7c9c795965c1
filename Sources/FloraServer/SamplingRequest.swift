// What completions and chat share once their prompts are tokens: the sampling fields with
// their defaults and ranges, the context-length check (vLLM's rule: prompt plus max_tokens must
// fit), and the engine requests, one per prompt and choice.

import FloraEngine
import FloraTokenizer

struct SamplingRequest: Sendable {
    var maxTokens: Int?
    var temperature: Double?
    var topP: Double?
    var topK: Int?
    var seed: Int64?
    var stop: StopInput?
    var stopTokenIds: [Int]?
    var n: Int?
    /// Alternatives reported per token (0 with log-probabilities of the chosen token only).
    var logprobs: Int
    /// The field that holds the prompt, for errors: `prompt` or `messages`.
    var promptField: String
    /// The field `maxTokens` came from: `max_tokens` or `max_completion_tokens`.
    var maxTokensField = "max_tokens"
    /// The JSON every choice must be (`response_format`); nil: text.
    var grammar: JSONGrammar?

    static let maxChoices = 64
    static let maxStopStrings = 16
    /// Stop strings are matched against the text's tail at every token: keep them short.
    static let maxStopStringLength = 1024

    /// Choices per prompt (`n`).
    func choiceCount() throws -> Int {
        let n = n ?? 1
        guard (1...Self.maxChoices).contains(n) else { throw APIError.badRequest("n must be in 1...\(Self.maxChoices), got \(n)", param: "n") }
        return n
    }

    /// The engine requests for `prompts` (already tokens), prompt-major: choice `p * n + i`.
    func engineRequests(prompts: [[Int32]], adapter: String?, maxModelLength: Int, vocabularySize: Int) throws -> [EngineRequest] {
        let n = try choiceCount()
        guard prompts.count * n <= Self.maxChoices * 4 else {
            throw APIError.badRequest("\(prompts.count) prompts × n = \(n) asks for more than \(Self.maxChoices * 4) completions in one request", param: "n")
        }
        var requests: [EngineRequest] = []
        for prompt in prompts {
            let parameters = try parameters(promptLength: prompt.count, maxModelLength: maxModelLength, vocabularySize: vocabularySize)
            for choice in 0..<n {
                var perChoice = parameters
                // Distinct samples for n > 1 that are still reproducible from one seed.
                if let seed = perChoice.seed, choice > 0 { perChoice.seed = seed &+ UInt64(choice) }
                requests.append(EngineRequest(promptTokens: prompt, parameters: perChoice, adapterName: adapter, grammar: grammar))
            }
        }
        return requests
    }

    func parameters(promptLength: Int, maxModelLength: Int, vocabularySize: Int) throws -> SamplingParameters {
        guard promptLength > 0 else { throw APIError.badRequest("the prompt is empty", param: promptField) }
        guard promptLength < maxModelLength else {
            throw APIError.badRequest(
                "This model's maximum context length is \(maxModelLength) tokens. However, your prompt has \(promptLength) tokens, leaving no room for the completion. Please shorten the prompt.",
                param: promptField)
        }
        let room = maxModelLength - promptLength
        let maxTokens = maxTokens ?? room
        guard maxTokens >= 1 else { throw APIError.badRequest("\(maxTokensField) must be at least 1, got \(maxTokens)", param: maxTokensField) }
        guard maxTokens <= room else {
            throw APIError.badRequest(
                "This model's maximum context length is \(maxModelLength) tokens. However, you requested \(promptLength) + \(maxTokens) tokens (\(promptLength) in the \(promptField), \(maxTokens) for the completion). Please reduce the length of the \(promptField) or the completion.",
                param: maxTokensField)
        }
        let stopStrings = (stop?.strings ?? []).filter { !$0.isEmpty }
        guard stopStrings.count <= Self.maxStopStrings else {
            throw APIError.badRequest("stop takes at most \(Self.maxStopStrings) strings, got \(stopStrings.count)", param: "stop")
        }
        if let long = stopStrings.first(where: { $0.count > Self.maxStopStringLength }) {
            throw APIError.badRequest("a stop string may have at most \(Self.maxStopStringLength) characters, got \(long.count)", param: "stop")
        }
        let stopTokens = try TokenIDs.validated(stopTokenIds ?? [], vocabularySize: vocabularySize, param: "stop_token_ids")
        // vLLM spells "no top-k" as -1; the engine as 0.
        let topK = topK.map { $0 == -1 ? 0 : $0 } ?? 0
        let parameters = SamplingParameters(
            temperature: Float(temperature ?? 1), topK: topK, topP: Float(topP ?? 1),
            seed: seed.map { UInt64(bitPattern: $0) }, maxTokens: maxTokens, logprobs: logprobs,
            stopTokenIds: stopTokens, stopStrings: stopStrings)
        do {
            try parameters.validate()
        } catch {
            throw APIError(error)
        }
        return parameters
    }
}

extension CompletionRequest {
    var sampling: SamplingRequest {
        SamplingRequest(
            maxTokens: maxTokens?.value ?? 16, temperature: temperature, topP: topP, topK: topK?.value, seed: seed?.value, stop: stop,
            stopTokenIds: stopTokenIds?.map(\.value), n: n?.value, logprobs: logprobs?.value ?? 0, promptField: "prompt")
    }
}

extension ChatCompletionRequest {
    var sampling: SamplingRequest {
        SamplingRequest(
            maxTokens: (maxCompletionTokens ?? maxTokens)?.value, temperature: temperature, topP: topP, topK: topK?.value, seed: seed?.value,
            stop: stop, stopTokenIds: stopTokenIds?.map(\.value), n: n?.value, logprobs: logprobs == true ? (topLogprobs?.value ?? 0) : 0,
            promptField: "messages", maxTokensField: maxCompletionTokens != nil ? "max_completion_tokens" : "max_tokens")
    }
}

/// Token ids a client sends as JSON numbers: each must name a token of the vocabulary, which
/// also makes it fit a `TokenID`.
enum TokenIDs {
    static func validated(_ values: [Int], vocabularySize: Int, param: String) throws -> [TokenID] {
        if let bad = values.first(where: { $0 < 0 || $0 >= vocabularySize }) {
            let prefix = param == "prompt" || param == "tokens" ? "" : "\(param): "
            throw APIError.badRequest("\(prefix)token id \(bad) is outside the vocabulary of \(vocabularySize)", param: param)
        }
        return values.map { TokenID($0) }
    }
}
