// What completions and chat share once their prompts are tokens: the sampling fields with
// their defaults and ranges, the context-length check (vLLM's rule: prompt plus max_tokens must
// fit), and the engine requests, one per prompt and generated sequence (`best_of` of them, `n`
// by default).

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
    /// Whether the response reports log-probabilities at all.
    var reportsLogprobs: Bool
    /// Sequences generated per prompt, of which the `n` most likely are returned (completions only).
    var bestOf: Int?
    var ignoreEOS: Bool?
    var minTokens: Int?
    var repetitionPenalty: Double?
    var presencePenalty: Double?
    var frequencyPenalty: Double?
    /// Token id (a JSON object key, so a string) → bias.
    var logitBias: [String: Double]?
    /// The field that holds the prompt, for errors: `prompt` or `messages`.
    var promptField: String
    /// The server's `--max-tokens-limit`: a cap on `maxTokens` and its default.
    var maxTokensLimit: Int?
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

    /// Sequences generated per prompt: `best_of` (at least `n`), or `n`.
    func sequenceCount() throws -> Int {
        let n = try choiceCount()
        guard let bestOf else { return n }
        guard (n...Self.maxChoices).contains(bestOf) else {
            throw APIError.badRequest("best_of must be in n...\(Self.maxChoices) (n is \(n)), got \(bestOf)", param: "best_of")
        }
        return bestOf
    }

    /// The engine requests for `prompts` (already tokens), prompt-major: sequence `p * s + i`
    /// with `s = sequenceCount()`.
    func engineRequests(prompts: [[Int32]], adapter: AdapterChoice, maxModelLength: Int, vocabularySize: Int) throws -> [EngineRequest] {
        let n = try sequenceCount()
        let param = bestOf == nil ? "n" : "best_of"
        guard prompts.count * n <= Self.maxChoices * 4 else {
            throw APIError.badRequest("\(prompts.count) prompts × \(param) = \(n) asks for more than \(Self.maxChoices * 4) completions in one request", param: param)
        }
        var requests: [EngineRequest] = []
        for prompt in prompts {
            let parameters = try parameters(promptLength: prompt.count, maxModelLength: maxModelLength, vocabularySize: vocabularySize)
            for choice in 0..<n {
                var perChoice = parameters
                // Distinct samples for n > 1 that are still reproducible from one seed.
                if let seed = perChoice.seed, choice > 0 { perChoice.seed = seed &+ UInt64(choice) }
                var request = adapter.engineRequest(prompt: prompt, parameters: perChoice)
                request.grammar = grammar
                requests.append(request)
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
        let maxTokens = maxTokens ?? min(room, maxTokensLimit ?? room)
        guard maxTokens >= 1 else { throw APIError.badRequest("\(maxTokensField) must be at least 1, got \(maxTokens)", param: maxTokensField) }
        if let limit = maxTokensLimit, maxTokens > limit {
            throw APIError.badRequest(
                "\(maxTokensField) is \(maxTokens), above this server's limit of \(limit) tokens per request (--max-tokens-limit)", param: maxTokensField)
        }
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
            stopTokenIds: stopTokens, stopStrings: stopStrings, ignoreEOS: ignoreEOS ?? false, minTokens: minTokens ?? 0,
            repetitionPenalty: Float(repetitionPenalty ?? 1), presencePenalty: Float(presencePenalty ?? 0),
            frequencyPenalty: Float(frequencyPenalty ?? 0),
            logitBias: try Self.logitBias(logitBias ?? [:], vocabularySize: vocabularySize),
            chosenLogprob: reportsLogprobs || (bestOf ?? 1) > (n ?? 1))
        do {
            try parameters.validate()
        } catch {
            throw APIError(error)
        }
        return parameters
    }

    /// OpenAI's `logit_bias`: keys are token ids in the vocabulary, values in -100...100.
    static func logitBias(_ bias: [String: Double], vocabularySize: Int) throws -> [TokenID: Float] {
        var result: [TokenID: Float] = [:]
        for (key, value) in bias.sorted(by: { $0.key < $1.key }) {
            guard let id = Int(key), id >= 0, id < vocabularySize else {
                throw APIError.badRequest("logit_bias: key \"\(key)\" is not a token id of the vocabulary (0..<\(vocabularySize))", param: "logit_bias")
            }
            guard SamplingParameters.logitBiasRange.contains(Float(value)) else {
                throw APIError.badRequest("logit_bias: the bias of token \(key) must be in -100...100, got \(value)", param: "logit_bias")
            }
            result[TokenID(id)] = Float(value)
        }
        return result
    }
}

extension CompletionRequest {
    var sampling: SamplingRequest {
        SamplingRequest(
            maxTokens: maxTokens?.value ?? 16, temperature: temperature, topP: topP, topK: topK?.value, seed: seed?.value, stop: stop,
            stopTokenIds: stopTokenIds?.map(\.value), n: n?.value, logprobs: logprobs?.value ?? 0,
            reportsLogprobs: logprobs != nil, bestOf: bestOf?.value,
            ignoreEOS: ignoreEOS, minTokens: minTokens?.value, repetitionPenalty: repetitionPenalty, presencePenalty: presencePenalty,
            frequencyPenalty: frequencyPenalty, logitBias: logitBias, promptField: "prompt")
    }
}

extension ChatCompletionRequest {
    var sampling: SamplingRequest {
        SamplingRequest(
            maxTokens: (maxCompletionTokens ?? maxTokens)?.value, temperature: temperature, topP: topP, topK: topK?.value, seed: seed?.value,
            stop: stop, stopTokenIds: stopTokenIds?.map(\.value), n: n?.value, logprobs: logprobs == true ? (topLogprobs?.value ?? 0) : 0,
            reportsLogprobs: logprobs == true,            ignoreEOS: ignoreEOS, minTokens: minTokens?.value, repetitionPenalty: repetitionPenalty, presencePenalty: presencePenalty,
            frequencyPenalty: frequencyPenalty, logitBias: logitBias, promptField: "messages", maxTokensField: maxCompletionTokens != nil ? "max_completion_tokens" : "max_tokens")
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
