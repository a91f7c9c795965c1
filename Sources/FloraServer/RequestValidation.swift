// The checks of a completion or chat request that need no engine: prompts tokenized and checked
// against the vocabulary, sampling fields in range, response_format compiled, the context length
// respected, and the engine requests built. The routes call them after choosing the adapter, and
// so does the request fuzzer (FloraFuzzing), which is why they take plain values.

import FloraEngine
import FloraTokenizer

struct RequestValidation: Sendable {
    let tokenizer: Tokenizer
    let maxModelLength: Int
    let vocabularySize: Int
    /// The server's `--max-tokens-limit`.
    let maxTokensLimit: Int?

    /// A checked /v1/completions request.
    struct Completion {
        var prompts: [[TokenID]]
        var choicesPerPrompt: Int
        var sequencesPerPrompt: Int
        var requests: [EngineRequest]
    }

    func completion(_ body: CompletionRequest, adapter: AdapterChoice) throws -> Completion {
        let prompts = try promptTokens(body.prompt)
        var sampling = body.sampling
        sampling.maxTokensLimit = maxTokensLimit
        sampling.grammar = try body.responseFormat?.grammar()
        if body.echo == true, sampling.logprobs > 0 {
            throw APIError.badRequest("echo together with logprobs (log-probabilities of the prompt) is not supported", param: "echo")
        }
        let choices = try sampling.choiceCount()
        let sequences = try sampling.sequenceCount()
        if body.stream == true, sequences > choices {
            throw APIError.badRequest("best_of > n cannot be streamed: the best sequences are known only once all have finished", param: "best_of")
        }
        let requests = try sampling.engineRequests(prompts: prompts, adapter: adapter, maxModelLength: maxModelLength, vocabularySize: vocabularySize)
        return Completion(prompts: prompts, choicesPerPrompt: choices, sequencesPerPrompt: sequences, requests: requests)
    }

    /// The engine requests of a /v1/chat/completions request, one per choice.
    func chat(_ body: ChatCompletionRequest, adapter: AdapterChoice) throws -> [EngineRequest] {
        if let top = body.topLogprobs?.value {
            guard body.logprobs == true else { throw APIError.badRequest("top_logprobs needs logprobs: true", param: "top_logprobs") }
            guard (0...SamplingParameters.maxLogprobs).contains(top) else {
                throw APIError.badRequest("top_logprobs must be in 0...\(SamplingParameters.maxLogprobs), got \(top)", param: "top_logprobs")
            }
        }
        let prompt = try chatPromptTokens(body.messages)
        var sampling = body.sampling
        sampling.maxTokensLimit = maxTokensLimit
        sampling.grammar = try body.responseFormat?.grammar()
        return try sampling.engineRequests(prompts: [prompt], adapter: adapter, maxModelLength: maxModelLength, vocabularySize: vocabularySize)
    }

    /// The prompts as token ids: text is encoded (with BOS where the model wants one), ids are
    /// checked against the vocabulary.
    func promptTokens(_ prompt: PromptInput) throws -> [[TokenID]] {
        let count: Int
        switch prompt {
        case .text: count = 1
        case .texts(let texts): count = texts.count
        case .tokens: count = 1
        case .tokenLists(let tokenLists): count = tokenLists.count
        }
        guard count > 0 else { throw APIError.badRequest("the prompt list is empty", param: "prompt") }
        guard count <= SamplingRequest.maxChoices else {
            throw APIError.badRequest("at most \(SamplingRequest.maxChoices) prompts per request, got \(count)", param: "prompt")
        }
        switch prompt {
        case .text(let text): return [tokenizer.encode(text, addSpecialTokens: true)]
        case .texts(let texts): return texts.map { tokenizer.encode($0, addSpecialTokens: true) }
        case .tokens(let tokens): return [try TokenIDs.validated(tokens, vocabularySize: vocabularySize, param: "prompt")]
        case .tokenLists(let lists): return try lists.map { try TokenIDs.validated($0, vocabularySize: vocabularySize, param: "prompt") }
        }
    }

    /// The conversation rendered by the model's template (with the assistant's turn opened) and encoded.
    func chatPromptTokens(_ messages: [ChatMessageInput]) throws -> [TokenID] {
        guard !messages.isEmpty else { throw APIError.badRequest("messages must hold at least one message", param: "messages") }
        do {
            let chat = messages.map { ChatMessage(role: $0.role, content: $0.content) }
            return try tokenizer.encodeChat(messages: chat, addGenerationPrompt: true)
        } catch {
            throw APIError.badRequest("the model's chat template refused the messages: \(error)", param: "messages")
        }
    }
}

extension FloraAPI {
    var validation: RequestValidation {
        RequestValidation(tokenizer: tokenizer, maxModelLength: maxModelLength, vocabularySize: vocabularySize,
                          maxTokensLimit: configuration.limits.maxTokensPerRequest)
    }
}
