// POST /v1/chat/completions: the messages go through the model's own chat template.

import FloraEngine
import FloraTokenizer
import Hummingbird

extension FloraAPI {
    func chatCompletions(_ request: Request, context: FloraRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(ChatCompletionRequest.self, limit: configuration.maxBodyBytes)
        let adapter = try await adapterChoice(model: body.model, adapters: body.adapters, scale: body.adapterScale)
        let requests = try validation.chat(body, adapter: adapter)
        let render = ChatRenderer(
            id: Self.newID("chatcmpl-"), created: Self.now, model: modelName(body.model), tokenizer: tokenizer,
            choicesPerPrompt: requests.count, logprobs: body.logprobs == true)
        let generation = await Generation.start(engine: engine, requests: requests, channel: context.channel)
        if body.stream == true {
            try await generation.waitUntilAdmitted()
            return ServerSentEvents.response(generation, includeUsage: body.streamOptions?.includeUsage == true, render: render)
        }
        return JSONOutput.response(render.whole(try await generation.collect()))
    }
}

/// /v1/chat/completions output: the whole response, or its `chat.completion.chunk` stream whose
/// first chunk per choice carries the role.
struct ChatRenderer: StreamRenderer {
    let id: String
    let created: Int
    let model: String
    let tokenizer: Tokenizer
    let choicesPerPrompt: Int
    let logprobs: Bool
    private var started: Set<Int> = []

    init(id: String, created: Int, model: String, tokenizer: Tokenizer, choicesPerPrompt: Int, logprobs: Bool) {
        self.id = id
        self.created = created
        self.model = model
        self.tokenizer = tokenizer
        self.choicesPerPrompt = choicesPerPrompt
        self.logprobs = logprobs
    }

    func whole(_ outputs: [ChoiceOutput]) -> ChatCompletionBody {
        let choices = outputs.enumerated().map { index, output in
            ChatCompletionBody.Choice(
                index: index, message: .init(content: output.text),
                logprobs: OrNull(logprobs ? Logprobs.chat(output.tokens, tokenizer: tokenizer) : nil),
                finishReason: output.finishReason?.rawValue ?? FinishReason.length.rawValue)
        }
        return ChatCompletionBody(id: id, created: created, model: model, choices: choices, usage: Usage(outputs, choicesPerPrompt: choicesPerPrompt))
    }

    mutating func chunks(for event: ChoicePiece) -> [any Encodable & Sendable] {
        var chunks: [any Encodable & Sendable] = []
        if started.insert(event.choice).inserted {
            chunks.append(chunk(event.choice, delta: .init(role: "assistant", content: ""), logprobs: nil, finish: nil))
        }
        let piece = event.piece
        let reportsTokens = logprobs && !piece.tokens.isEmpty
        if !piece.text.isEmpty || reportsTokens || piece.finishReason != nil {
            chunks.append(chunk(
                event.choice, delta: .init(content: piece.text.isEmpty && piece.finishReason != nil ? nil : piece.text),
                logprobs: reportsTokens ? Logprobs.chat(piece.tokens, tokenizer: tokenizer) : nil, finish: piece.finishReason))
        }
        return chunks
    }

    private func chunk(_ index: Int, delta: ChatCompletionChunk.Delta, logprobs: ChatLogprobs?, finish: FinishReason?) -> ChatCompletionChunk {
        ChatCompletionChunk(id: id, created: created, model: model, choices: [
            .init(index: index, delta: delta, logprobs: OrNull(logprobs), finishReason: OrNull(finish?.rawValue)),
        ])
    }

    func usageChunk(_ usage: Usage) -> any Encodable & Sendable {
        ChatCompletionChunk(id: id, created: created, model: model, choices: [], usage: usage)
    }
}
