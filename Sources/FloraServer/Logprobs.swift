// Log-probabilities in OpenAI's two shapes: completions' parallel lists and chat's entries with
// bytes. JSON has no infinities, so an impossible token reports -9999 as vLLM does.

import FloraEngine
import FloraTokenizer

enum Logprobs {
    static func finite(_ value: Float) -> Float { value.isFinite ? value : -9999 }

    /// One token's text as it appears inside the output (a SentencePiece token keeps its space).
    static func text(_ token: TokenID, _ tokenizer: Tokenizer) -> String { tokenizer.decode([token], continuesText: true) }

    /// Completions' shape; `offset` is where the first token's text starts in the choice's text.
    static func completion(_ tokens: [SampledToken], tokenizer: Tokenizer, offset: inout Int) -> CompletionLogprobs {
        var result = CompletionLogprobs()
        for sampled in tokens {
            let text = text(sampled.token, tokenizer)
            result.tokens.append(text)
            result.tokenLogprobs.append(finite(sampled.logprob))
            var top: [String: Float] = [:]
            for alternative in sampled.top { top[Self.text(alternative.token, tokenizer)] = finite(alternative.logprob) }
            result.topLogprobs.append(top)
            result.textOffset.append(offset)
            offset += text.count
        }
        return result
    }

    static func chat(_ tokens: [SampledToken], tokenizer: Tokenizer) -> ChatLogprobs {
        ChatLogprobs(content: tokens.map { sampled in
            ChatLogprobs.Entry(
                token: text(sampled.token, tokenizer), logprob: finite(sampled.logprob),
                bytes: tokenizer.bytes(for: sampled.token) ?? [],
                topLogprobs: sampled.top.map {
                    ChatLogprobs.Alternative(token: text($0.token, tokenizer), logprob: finite($0.logprob), bytes: tokenizer.bytes(for: $0.token) ?? [])
                })
        })
    }
}

extension Usage {
    /// Prompt tokens count once per prompt, not once per choice (as vLLM counts them).
    init(_ outputs: [ChoiceOutput], choicesPerPrompt: Int) {
        promptTokens = stride(from: 0, to: outputs.count, by: max(1, choicesPerPrompt)).reduce(0) { $0 + outputs[$1].promptTokenCount }
        completionTokens = outputs.reduce(0) { $0 + $1.generatedTokenCount }
    }
}
