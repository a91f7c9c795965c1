// POST /v1/completions (OpenAI's legacy completions, with vLLM's extensions).

import FloraEngine
import FloraTokenizer
import Hummingbird

extension FloraAPI {
    func completions(_ request: Request, context: FloraRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(CompletionRequest.self, limit: configuration.maxBodyBytes)
        let adapter = try await adapterChoice(model: body.model, adapters: body.adapters, scale: body.adapterScale)
        let checked = try validation.completion(body, adapter: adapter)
        let (prompts, choices, sequences, requests) = (checked.prompts, checked.choicesPerPrompt, checked.sequencesPerPrompt, checked.requests)
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
}
