// A model folder's tokenizer.json and tokenizer_config.json (split at `FuzzInput.separator`),
// then the text after them through the tokenizer they build.

import FloraTokenizer
import Foundation

enum TokenizerJSONFuzzing {
    static func run(_ data: [UInt8]) {
        let parts = FuzzInput.parts(data, count: 3)
        let config = parts[1].isEmpty ? nil : Data(parts[1])
        guard let tokenizer = try? Tokenizer(tokenizerJSON: Data(parts[0]), tokenizerConfigJSON: config, source: "fuzz/tokenizer.json")
        else { return }
        let text = FuzzInput.text(parts[2])
        let ids = parts[2].map { TokenID($0) }
        TextFuzzing.exercise(tokenizer, text: text, ids: ids)
        _ = try? tokenizer.applyChatTemplate(messages: [ChatMessage(role: "user", content: text)], addGenerationPrompt: true)
    }
}
