// Text a client sends (prompts, stop strings, messages) through encode and decode, and token
// ids through the streaming detokenizer that writes generated text: invalid UTF-8, long runs,
// ids outside the vocabulary. Streaming must give exactly what decoding the whole gives.

import FloraTokenizer

enum TextFuzzing {
    static func run(_ data: [UInt8]) {
        guard let selector = data.first, !TinyTokenizers.all.isEmpty else { return }
        let tokenizer = TinyTokenizers.all[Int(selector) % TinyTokenizers.all.count]
        let rest = Array(data.dropFirst())
        // The same bytes as ids, two at a time, reaching a little past the vocabulary.
        let ids = stride(from: 0, to: rest.count - 1, by: 2).map {
            TokenID((Int(rest[$0]) << 8 | Int(rest[$0 + 1])) % (tokenizer.vocabularySize + 8))
        }
        exercise(tokenizer, text: FuzzInput.text(rest), ids: ids)
    }

    /// Encodes and decodes `text`, and streams `ids` (and the encoding of `text`) through the
    /// detokenizer, checking the invariants that hold for every tokenizer.
    static func exercise(_ tokenizer: Tokenizer, text: String, ids: [TokenID]) {
        let encoded = tokenizer.encode(text, parseSpecialTokens: true, addSpecialTokens: true)
        invariant(encoded.allSatisfy { $0 >= 0 && Int($0) < tokenizer.vocabularySize },
                  "encode wrote an id outside the vocabulary of \(tokenizer.vocabularySize)")
        _ = tokenizer.encode(text, parseSpecialTokens: false)
        for sequence in [ids, encoded] {
            for skip in [false, true] {
                let whole = tokenizer.decode(sequence, skipSpecialTokens: skip, continuesText: true)
                var stream = StreamingDetokenizer(tokenizer: tokenizer, skipSpecialTokens: skip, continuesText: true)
                var streamed = ""
                for id in sequence { streamed += stream.append(id) }
                streamed += stream.finish()
                invariant(streamed == whole, "streamed text \(streamed.debugDescription) differs from decoded \(whole.debugDescription)")
            }
        }
    }
}
