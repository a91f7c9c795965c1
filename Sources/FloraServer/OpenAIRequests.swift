// The request bodies of /v1/completions and /v1/chat/completions as OpenAI documents them,
// with vLLM's extensions (`top_k`, `stop_token_ids`, `ignore_eos`, `min_tokens`,
// `repetition_penalty`, `best_of` on completions, and `response_format` on completions too),
// and Flora's `adapters` and `adapter_scale` (AdapterChoice.swift). Every field but the prompt or
// messages is optional; defaults and range checks live in `SamplingRequest`. `logit_bias` keys
// are token ids written as strings (JSON object keys), read there too.

struct CompletionRequest: Decodable, Sendable {
    var model: String?
    var prompt: PromptInput
    var maxTokens: JSONInteger<Int>?
    var temperature: Double?
    var topP: Double?
    var topK: JSONInteger<Int>?
    var seed: JSONInteger<Int64>?
    var stop: StopInput?
    var stopTokenIds: [JSONInteger<Int>]?
    var n: JSONInteger<Int>?
    var logprobs: JSONInteger<Int>?
    var echo: Bool?
    var stream: Bool?
    var streamOptions: StreamOptions?
    var bestOf: JSONInteger<Int>?
    var ignoreEOS: Bool?
    var minTokens: JSONInteger<Int>?
    var repetitionPenalty: Double?
    var presencePenalty: Double?
    var frequencyPenalty: Double?
    var logitBias: [String: Double]?
    var adapters: [AdapterPartInput]?
    var adapterScale: Double?
    var responseFormat: ResponseFormatInput?

    enum CodingKeys: String, CodingKey {
        case model, prompt, adapters, adapterScale = "adapter_scale", temperature, seed, stop, n, logprobs, echo, stream
        case maxTokens = "max_tokens", topP = "top_p", topK = "top_k", stopTokenIds = "stop_token_ids", streamOptions = "stream_options"
        case bestOf = "best_of"
        case ignoreEOS = "ignore_eos", minTokens = "min_tokens", repetitionPenalty = "repetition_penalty"
        case presencePenalty = "presence_penalty", frequencyPenalty = "frequency_penalty", logitBias = "logit_bias"
        case responseFormat = "response_format"
    }
}

struct ChatCompletionRequest: Decodable, Sendable {
    var model: String?
    var messages: [ChatMessageInput]
    var maxTokens: JSONInteger<Int>?
    var maxCompletionTokens: JSONInteger<Int>?
    var temperature: Double?
    var topP: Double?
    var topK: JSONInteger<Int>?
    var seed: JSONInteger<Int64>?
    var stop: StopInput?
    var stopTokenIds: [JSONInteger<Int>]?
    var n: JSONInteger<Int>?
    var logprobs: Bool?
    var topLogprobs: JSONInteger<Int>?
    var stream: Bool?
    var streamOptions: StreamOptions?
    var ignoreEOS: Bool?
    var minTokens: JSONInteger<Int>?
    var repetitionPenalty: Double?
    var presencePenalty: Double?
    var frequencyPenalty: Double?
    var logitBias: [String: Double]?
    var adapters: [AdapterPartInput]?
    var adapterScale: Double?
    var responseFormat: ResponseFormatInput?

    enum CodingKeys: String, CodingKey {
        case model, messages, adapters, adapterScale = "adapter_scale", temperature, seed, stop, n, logprobs, stream
        case maxTokens = "max_tokens", maxCompletionTokens = "max_completion_tokens", topP = "top_p", topK = "top_k"
        case stopTokenIds = "stop_token_ids", topLogprobs = "top_logprobs", streamOptions = "stream_options"
        case ignoreEOS = "ignore_eos", minTokens = "min_tokens", repetitionPenalty = "repetition_penalty"
        case presencePenalty = "presence_penalty", frequencyPenalty = "frequency_penalty", logitBias = "logit_bias"
        case responseFormat = "response_format"
    }
}

struct StreamOptions: Decodable, Sendable {
    var includeUsage: Bool?
    enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
}

/// `prompt`: a string, a list of strings, a list of token ids, or a list of token-id lists.
enum PromptInput: Decodable, Sendable {
    case text(String)
    case texts([String])
    case tokens([Int])
    case tokenLists([[Int]])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self) { self = .text(text); return }
        if let texts = try? container.decode([String].self) { self = .texts(texts); return }
        if let tokens = try? container.decode([Int].self) { self = .tokens(tokens); return }
        if let lists = try? container.decode([[Int]].self) { self = .tokenLists(lists); return }
        throw DecodingError.dataCorrupted(.init(
            codingPath: decoder.codingPath,
            debugDescription: "expected a string, a list of strings, a list of token ids or a list of token-id lists"))
    }
}

/// `stop`: one string or a list of them.
enum StopInput: Decodable, Sendable {
    case one(String)
    case many([String])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let one = try? container.decode(String.self) { self = .one(one); return }
        if let many = try? container.decode([String].self) { self = .many(many); return }
        throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "expected a string or a list of strings"))
    }

    var strings: [String] {
        switch self {
        case .one(let string): [string]
        case .many(let strings): strings
        }
    }
}

struct ChatMessageInput: Decodable, Sendable {
    var role: String
    var content: String

    enum CodingKeys: String, CodingKey { case role, content }

    /// `content` may be a string, null (read as empty), or a list of parts of which Flora reads
    /// the `text` ones; any other part is refused. Only an assistant turn may leave it out, as
    /// in OpenAI's API: a user message without content is almost surely a client's bug.
    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        role = try container.decode(String.self, forKey: .role)
        if !container.contains(.content) {
            guard role == "assistant" else {
                throw DecodingError.keyNotFound(CodingKeys.content, .init(
                    codingPath: container.codingPath, debugDescription: "a '\(role)' message needs 'content' (only an assistant turn may leave it out)"))
            }
            content = ""
        } else if try container.decodeNil(forKey: .content) {
            content = ""
        } else if let text = try? container.decode(String.self, forKey: .content) {
            content = text
        } else {
            let parts = try container.decode([ContentPart].self, forKey: .content)
            content = parts.map(\.text).joined()
        }
    }

    struct ContentPart: Decodable, Sendable {
        var text: String
        enum CodingKeys: String, CodingKey { case type, text }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let type = try container.decode(String.self, forKey: .type)
            guard type == "text" else {
                throw DecodingError.dataCorrupted(.init(
                    codingPath: decoder.codingPath + [CodingKeys.type],
                    debugDescription: "only text content parts are supported, got '\(type)'"))
            }
            text = try container.decode(String.self, forKey: .text)
        }
    }
}

/// An integer field that names itself when the number does not fit: JSONDecoder reports an
/// oversized or fractional number as invalid JSON without saying where.
struct JSONInteger<Value: FixedWidthInteger & Decodable & Sendable>: Decodable, Sendable {
    var value: Value

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let value = try? container.decode(Value.self) { self.value = value; return }
        if let number = try? container.decode(Double.self) {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath, debugDescription: "expected an integer in \(Value.min)...\(Value.max), got \(number)"))
        }
        value = try container.decode(Value.self)   // not a number: the type mismatch names the field
    }
}
