// POST /v1/completions (OpenAI's legacy completions, with vLLM's extensions).

import FloraEngine
import Hummingbird

extension FloraAPI {
    func completions(_ request: Request, context: FloraRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(CompletionRequest.self, limit: configuration.maxBodyBytes)
        let adapter = try await adapter(forModel: body.model)
        let prompts = try promptTokens(body.prompt)
        let sampling = body.sampling
        if body.echo == true, sampling.logprobs > 0 {
            throw APIError.badRequest("echo together with logprobs (log-probabilities of the prompt) is not supported", param: "echo")
        }
        let requests = try sampling.engineRequests(prompts: prompts, adapter: adapter, maxModelLength: maxModelLength, vocabularySize: vocabularySize)
        let render = CompletionRenderer(
            id: Self.newID("cmpl-"), created: Self.now, model: modelName(body.model), tokenizer: tokenizer,
            echoes: body.echo == true ? prompts.map { tokenizer.decode($0.map(Int.init)) } : nil,
            choicesPerPrompt: try sampling.choiceCount(), logprobs: body.logprobs != nil)
        let generation = await Generation.start(engine: engine, requests: requests, channel: context.channel)
        if body.stream == true {
            try await generation.waitUntilAdmitted()
            return ServerSentEvents.response(generation, includeUsage: body.streamOptions?.includeUsage == true, render: render)
        }
        return JSONOutput.response(render.whole(try await generation.collect()))
    }

    /// The prompts as token ids: text is encoded (with BOS where the model wants one), ids are
    /// checked against the vocabulary.
    func promptTokens(_ prompt: PromptInput) throws -> [[Int32]] {
        let lists: [[Int]]
        switch prompt {
        case .text(let text): lists = [tokenizer.encode(text, addSpecialTokens: true)]
        case .texts(let texts): lists = texts.map { tokenizer.encode($0, addSpecialTokens: true) }
        case .tokens(let tokens): lists = [tokens]
        case .tokenLists(let tokenLists): lists = tokenLists
        }
        guard !lists.isEmpty else { throw APIError.badRequest("the prompt list is empty", param: "prompt") }
        guard lists.count <= SamplingRequest.maxChoices else {
            throw APIError.badRequest("at most \(SamplingRequest.maxChoices) prompts per request, got \(lists.count)", param: "prompt")
        }
        for tokens in lists {
            if let bad = tokens.first(where: { $0 < 0 || $0 >= vocabularySize }) {
                throw APIError.badRequest("token id \(bad) is outside the vocabulary of \(vocabularySize)", param: "prompt")
            }
        }
        return lists.map { $0.map { Int32($0) } }
    }
}
