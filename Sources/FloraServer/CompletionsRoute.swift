// POST /v1/completions (OpenAI's legacy completions, with vLLM's extensions).

import FloraEngine
import FloraTokenizer
import Hummingbird

extension FloraAPI {
    func completions(_ request: Request, context: FloraRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(CompletionRequest.self, limit: configuration.maxBodyBytes)
        let adapter = try await adapterChoice(model: body.model, adapters: body.adapters, scale: body.adapterScale)
        let prompts = try promptTokens(body.prompt)
        var sampling = body.sampling
        sampling.maxTokensLimit = configuration.limits.maxTokensPerRequest
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
        let render = CompletionRenderer(
            id: Self.newID("cmpl-"), created: Self.now, model: modelName(body.model), tokenizer: tokenizer,
            echoes: body.echo == true ? prompts.map { tokenizer.decode($0) } : nil,
            choicesPerPrompt: choices, logprobs: body.logprobs != nil)
        let generation = await Generation.start(engine: engine, requests: requests, channel: context.channel)
        if body.stream == true {
            try await generation.waitUntilAdmitted()
            return ServerSentEvents.response(generation, includeUsage: body.streamOptions?.includeUsage == true, render: render)
        }
        let outputs = Self.best(try await generation.collect(), generatedPerPrompt: sequences, returned: choices)
        return JSONOutput.response(render.whole(outputs))
    }

    /// `best_of` as vLLM chooses: per prompt, the `returned` sequences of highest cumulative
    /// log-probability (the sum of the reported, raw, log-probabilities of their tokens), most
    /// likely first; equal scores keep their order. Usage then counts the returned sequences.
    static func best(_ outputs: [ChoiceOutput], generatedPerPrompt: Int, returned: Int) -> [ChoiceOutput] {
        guard generatedPerPrompt > returned else { return outputs }
        return stride(from: 0, to: outputs.count, by: generatedPerPrompt).flatMap { start in
            let group = outputs[start..<min(start + generatedPerPrompt, outputs.count)]
            let scored = group.map { output in (output, output.tokens.reduce(Float(0)) { $0 + $1.logprob }) }
            return scored.enumerated()
                .sorted { $0.element.1 != $1.element.1 ? $0.element.1 > $1.element.1 : $0.offset < $1.offset }
                .prefix(returned).map(\.element.0)
        }
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
}
