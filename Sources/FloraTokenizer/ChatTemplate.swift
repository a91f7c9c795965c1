// Chat prompts: the model's own Jinja chat template (GGUF `tokenizer.chat_template`,
// tokenizer_config.json `chat_template`) rendered as Hugging Face's `apply_chat_template` does,
// with `messages`, `add_generation_prompt`, `bos_token` and `eos_token` (plus `unk_token`,
// `pad_token` when the model has them). A model without a template gets plain ChatML; a
// template that fails to parse or render throws — Flora never guesses a format silently.

public struct ChatMessage: Sendable, Equatable {
    public var role: String
    public var content: String

    public init(role: String, content: String) {
        self.role = role
        self.content = content
    }
}

/// The template, parsed once when the tokenizer is built.
enum ParsedChatTemplate: Sendable {
    case absent
    case parsed(JinjaTemplate)
    case failed(JinjaError)

    init(_ source: String?) {
        guard let source else { self = .absent; return }
        do { self = .parsed(try JinjaTemplate(source)) } catch let error as JinjaError { self = .failed(error) } catch {
            self = .failed(JinjaError(.syntax, "\(error)"))
        }
    }
}

extension Tokenizer {
    /// The prompt text for `messages`, to be encoded with `parseSpecialTokens: true` (and no
    /// added BOS: templates write their own).
    /// - Parameter extraContext: further template variables (`tools`, `date_string` …).
    /// - Throws: `JinjaError` when the template does not parse (`.syntax`), fails while
    ///   rendering (`.render`) or rejects the conversation itself (`.raised`).
    public func applyChatTemplate(messages: [ChatMessage], addGenerationPrompt: Bool,
                                  extraContext: [String: JinjaValue] = [:]) throws -> String {
        switch parsedChatTemplate {
        case .absent:
            return Self.chatML(messages: messages, addGenerationPrompt: addGenerationPrompt)
        case .failed(let error):
            throw error
        case .parsed(let template):
            var context = extraContext
            context["messages"] = .array(messages.map { .dictionary([("role", .string($0.role)), ("content", .string($0.content))]) })
            context["add_generation_prompt"] = .bool(addGenerationPrompt)
            for (name, id) in [("bos_token", bosTokenId), ("eos_token", eosTokenId), ("unk_token", unknownTokenId), ("pad_token", padTokenId)] {
                if let id, let bytes = bytes(for: id) { context[name] = .string(String(decoding: bytes, as: UTF8.self)) }
            }
            return try template.render(context)
        }
    }

    /// The token ids of the chat prompt: `applyChatTemplate`, then `encode` with special tokens parsed.
    public func encodeChat(messages: [ChatMessage], addGenerationPrompt: Bool,
                           extraContext: [String: JinjaValue] = [:]) throws -> [TokenID] {
        encode(try applyChatTemplate(messages: messages, addGenerationPrompt: addGenerationPrompt, extraContext: extraContext))
    }

    /// ChatML, the format of models without a template of their own:
    /// `<|im_start|>{role}\n{content}<|im_end|>\n` per message, then `<|im_start|>assistant\n`.
    public static func chatML(messages: [ChatMessage], addGenerationPrompt: Bool) -> String {
        var text = ""
        for message in messages { text += "<|im_start|>\(message.role)\n\(message.content)<|im_end|>\n" }
        if addGenerationPrompt { text += "<|im_start|>assistant\n" }
        return text
    }
}
