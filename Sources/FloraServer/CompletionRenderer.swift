// /v1/completions output: the whole response, or its stream of `text_completion` chunks.

import FloraEngine
import FloraTokenizer

struct CompletionRenderer: StreamRenderer {
    let id: String
    let created: Int
    let model: String
    let tokenizer: Tokenizer
    /// Each prompt's text, sent before its choices' output when `echo` is on.
    let echoes: [String]?
    let choicesPerPrompt: Int
    let logprobs: Bool
    private var offsets: [Int: Int] = [:]   // text sent so far per choice, for `text_offset`

    init(id: String, created: Int, model: String, tokenizer: Tokenizer, echoes: [String]?, choicesPerPrompt: Int, logprobs: Bool) {
        self.id = id
        self.created = created
        self.model = model
        self.tokenizer = tokenizer
        self.echoes = echoes
        self.choicesPerPrompt = choicesPerPrompt
        self.logprobs = logprobs
    }

    private func echo(_ choice: Int) -> String { echoes?[choice / choicesPerPrompt] ?? "" }

    func whole(_ outputs: [ChoiceOutput]) -> CompletionBody {
        let choices = outputs.enumerated().map { index, output in
            var offset = echo(index).count
            return CompletionBody.Choice(
                index: index, text: echo(index) + output.text,
                logprobs: OrNull(logprobs ? Logprobs.completion(output.tokens, tokenizer: tokenizer, offset: &offset) : nil),
                finishReason: OrNull(output.finishReason?.rawValue ?? FinishReason.length.rawValue))
        }
        return CompletionBody(id: id, created: created, model: model, choices: choices, usage: Usage(outputs, choicesPerPrompt: choicesPerPrompt))
    }

    mutating func chunks(for event: ChoicePiece) -> [any Encodable & Sendable] {
        var text = event.piece.text
        if offsets[event.choice] == nil {
            text = echo(event.choice) + text
            offsets[event.choice] = echo(event.choice).count
        }
        let reportsTokens = logprobs && !event.piece.tokens.isEmpty
        guard !text.isEmpty || reportsTokens || event.piece.finishReason != nil else { return [] }
        var offset = offsets[event.choice] ?? 0
        let logprobs = reportsTokens ? Logprobs.completion(event.piece.tokens, tokenizer: tokenizer, offset: &offset) : nil
        offsets[event.choice] = offset
        let choice = CompletionBody.Choice(
            index: event.choice, text: text, logprobs: OrNull(logprobs), finishReason: OrNull(event.piece.finishReason?.rawValue))
        return [CompletionBody(id: id, created: created, model: model, choices: [choice])]
    }

    func usageChunk(_ usage: Usage) -> any Encodable & Sendable {
        CompletionBody(id: id, created: created, model: model, choices: [], usage: usage)
    }
}
