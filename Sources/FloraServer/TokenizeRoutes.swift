// POST /tokenize and /detokenize (vLLM's extension routes).

import FloraTokenizer
import Hummingbird

struct TokenizeRequest: Decodable, Sendable {
    var model: String?
    var prompt: String?
    var messages: [ChatMessageInput]?
    var addSpecialTokens: Bool?
    enum CodingKeys: String, CodingKey { case model, prompt, messages, addSpecialTokens = "add_special_tokens" }
}

struct TokenizeResponse: Encodable, Sendable {
    var count: Int
    var maxModelLen: Int
    var tokens: [TokenID]
    enum CodingKeys: String, CodingKey { case count, tokens, maxModelLen = "max_model_len" }
}

struct DetokenizeRequest: Decodable, Sendable {
    var model: String?
    var tokens: [JSONInteger<Int>]
}

struct DetokenizeResponse: Encodable, Sendable {
    var prompt: String
}

extension FloraAPI {
    func tokenize(_ request: Request, context: FloraRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(TokenizeRequest.self, limit: configuration.maxBodyBytes)
        _ = try await adapter(forModel: body.model)
        let tokens: [TokenID]
        switch (body.prompt, body.messages) {
        case (let prompt?, nil): tokens = tokenizer.encode(prompt, addSpecialTokens: body.addSpecialTokens ?? true)
        case (nil, let messages?): tokens = try validation.chatPromptTokens(messages)
        default: throw APIError.badRequest("give exactly one of 'prompt' (a string) or 'messages'", param: "prompt")
        }
        return JSONOutput.response(TokenizeResponse(count: tokens.count, maxModelLen: maxModelLength, tokens: tokens))
    }

    func detokenize(_ request: Request, context: FloraRequestContext) async throws -> Response {
        let body = try await request.decodeJSON(DetokenizeRequest.self, limit: configuration.maxBodyBytes)
        _ = try await adapter(forModel: body.model)
        let tokens = try TokenIDs.validated(body.tokens.map(\.value), vocabularySize: vocabularySize, param: "tokens")
        return JSONOutput.response(DetokenizeResponse(prompt: tokenizer.decode(tokens)))
    }
}
