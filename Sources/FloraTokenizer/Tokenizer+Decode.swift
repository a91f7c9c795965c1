// Decoding: one pass of the decoder (TokenDecoder.swift) over the ids. Byte-level output is read
// as UTF-8 with invalid sequences as U+FFFD, as Hugging Face's `from_utf8_lossy`; SentencePiece
// output is whole characters already.

extension Tokenizer {
    /// The text of `ids`. Ids outside the vocabulary are skipped (check `vocabularySize` first
    /// where that matters).
    /// - Parameter continuesText: the ids continue a text (a prompt's continuation, one token
    ///   of a stream): a SentencePiece decoder keeps their leading space, which it drops only at
    ///   the start of a text.
    public func decode(_ ids: [TokenID], skipSpecialTokens: Bool = false, continuesText: Bool = false) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        var state = DecodeState(decoder, continuesText: continuesText)
        for id in ids { appendDecoded(id, skipSpecialTokens: skipSpecialTokens, state: &state, to: &bytes) }
        finishDecoding(&state, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
