// The response bodies and stream chunks of /v1/completions and /v1/chat/completions, in
// OpenAI's field names and with its explicit nulls.

struct Usage: Encodable, Sendable {
    var promptTokens: Int
    var completionTokens: Int
    var totalTokens: Int { promptTokens + completionTokens }

    enum CodingKeys: String, CodingKey { case promptTokens = "prompt_tokens", completionTokens = "completion_tokens", totalTokens = "total_tokens" }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(promptTokens, forKey: .promptTokens)
        try container.encode(completionTokens, forKey: .completionTokens)
        try container.encode(totalTokens, forKey: .totalTokens)
    }
}

/// `object: "text_completion"`: a whole response, or one chunk of a stream.
struct CompletionBody: Encodable, Sendable {
    var id: String
    var object = "text_completion"
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage?

    struct Choice: Encodable, Sendable {
        var index: Int
        var text: String
        var logprobs: OrNull<CompletionLogprobs>
        var finishReason: OrNull<String>
        enum CodingKeys: String, CodingKey { case index, text, logprobs, finishReason = "finish_reason" }
    }
}

/// `object: "chat.completion"`.
struct ChatCompletionBody: Encodable, Sendable {
    var id: String
    var object = "chat.completion"
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage

    struct Choice: Encodable, Sendable {
        var index: Int
        var message: Message
        var logprobs: OrNull<ChatLogprobs>
        var finishReason: String
        enum CodingKeys: String, CodingKey { case index, message, logprobs, finishReason = "finish_reason" }
    }

    struct Message: Encodable, Sendable {
        var role = "assistant"
        var content: String
    }
}

/// `object: "chat.completion.chunk"`.
struct ChatCompletionChunk: Encodable, Sendable {
    var id: String
    var object = "chat.completion.chunk"
    var created: Int
    var model: String
    var choices: [Choice]
    var usage: Usage?

    struct Choice: Encodable, Sendable {
        var index: Int
        var delta: Delta
        var logprobs: OrNull<ChatLogprobs>
        var finishReason: OrNull<String>
        enum CodingKeys: String, CodingKey { case index, delta, logprobs, finishReason = "finish_reason" }
    }

    struct Delta: Encodable, Sendable {
        var role: String?
        var content: String?
    }
}

/// Completions' log-probabilities: parallel lists per generated token.
struct CompletionLogprobs: Encodable, Sendable {
    var tokens: [String] = []
    var tokenLogprobs: [Float] = []
    var topLogprobs: [[String: Float]] = []
    var textOffset: [Int] = []
    enum CodingKeys: String, CodingKey { case tokens, tokenLogprobs = "token_logprobs", topLogprobs = "top_logprobs", textOffset = "text_offset" }
}

/// Chat's log-probabilities: one entry per generated token.
struct ChatLogprobs: Encodable, Sendable {
    var content: [Entry]

    struct Entry: Encodable, Sendable {
        var token: String
        var logprob: Float
        var bytes: [UInt8]
        var topLogprobs: [Alternative]
        enum CodingKeys: String, CodingKey { case token, logprob, bytes, topLogprobs = "top_logprobs" }
    }

    struct Alternative: Encodable, Sendable {
        var token: String
        var logprob: Float
        var bytes: [UInt8]
    }
}
