// Decoding: the bytes of each token (byte-level table, or a special token's own text), joined
// and read as UTF-8; invalid sequences become U+FFFD as in Hugging Face's `from_utf8_lossy`.

extension Tokenizer {
    /// The text of `ids`. Ids outside the vocabulary are skipped (check `vocabularySize` first
    /// where that matters).
    public func decode(_ ids: [TokenID], skipSpecialTokens: Bool = false) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * 4)
        for id in ids { appendBytes(of: id, skipSpecialTokens: skipSpecialTokens, to: &bytes) }
        return String(decoding: bytes, as: UTF8.self)
    }

    func appendBytes(of id: TokenID, skipSpecialTokens: Bool, to bytes: inout [UInt8]) {
        guard id >= 0, Int(id) < tokens.count else { return }
        let index = Int(id)
        if skipSpecialTokens && special[index] { return }
        bytes.append(contentsOf: tokenBytes[Int(tokenByteOffsets[index])..<Int(tokenByteOffsets[index + 1])])
    }
}
