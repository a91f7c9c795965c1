// A chat template (GGUF `tokenizer.chat_template` or tokenizer_config.json `chat_template`)
// rendered with messages from the same input, as /v1/chat/completions renders a conversation:
// the first part is the template, each further part one message, its role up to the first
// newline. Rendering must end, bounded in time and output, or throw.

import FloraTokenizer

enum ChatTemplateFuzzing {
    static let maximumMessages = 8

    static func run(_ data: [UInt8]) {
        guard let selector = data.first else { return }
        let parts = FuzzInput.parts(Array(data.dropFirst()), count: maximumMessages + 1)
        let template = FuzzInput.text(parts[0])
        let messages = parts.dropFirst().filter { !$0.isEmpty }.map { part -> ChatMessage in
            let newline = part.firstIndex(of: UInt8(ascii: "\n")) ?? part.endIndex
            return ChatMessage(role: FuzzInput.text(Array(part[..<newline])),
                               content: FuzzInput.text(Array(part[min(newline + 1, part.endIndex)...])))
        }
        let built: Tokenizer?
        if selector & 1 == 0 {
            built = try? TinyTokenizers.byteLevel(chatTemplate: template)
        } else {
            built = try? TinyTokenizers.sentencePiece(chatTemplate: template)
        }
        guard let tokenizer = built else { return }
        let rendered = try? tokenizer.applyChatTemplate(messages: messages, addGenerationPrompt: selector & 2 == 0)
        if let rendered {
            let ids = tokenizer.encode(rendered)
            invariant(ids.allSatisfy { Int($0) < tokenizer.vocabularySize }, "the rendered prompt encodes outside the vocabulary")
        }
    }
}
