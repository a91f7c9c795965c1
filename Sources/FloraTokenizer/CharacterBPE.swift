// Hugging Face `tokenizers`' BPE model over Unicode characters (models/bpe/model.rs
// `merge_word`), the shape transformers gives SentencePiece vocabularies in tokenizer.json: each
// character is looked up as a token; a character the vocabulary lacks becomes the `<0xNN>` tokens
// of its UTF-8 bytes (`byte_fallback`, when all of them exist) or the unknown token (runs of
// unknown characters fused into one with `fuse_unk`); then the symbols merge by rank.

struct CharacterBPE: Sendable {
    /// The token of each single-character token, by scalar; ASCII in a table.
    let characterTokens: [UInt32: TokenID]
    let asciiTokens: [TokenID]
    let merges: BPEMerges
    /// `<0xNN>` token of each byte (-1: none); nil without byte fallback.
    let byteTokens: [TokenID]?
    let unknownTokenId: TokenID?
    let fuseUnknown: Bool
    /// For `ignore_merges`: a piece that is a token whole is that token.
    let wholePieces: TokenLookup?

    init(tokens: [String], tokenToId: TokenLookup, merges: BPEMerges, byteFallback: Bool,
         unknownTokenId: TokenID?, fuseUnknown: Bool, ignoreMerges: Bool) {
        var characterTokens: [UInt32: TokenID] = [:]
        var asciiTokens = [TokenID](repeating: -1, count: 128)
        for (id, token) in tokens.enumerated() {
            var scalars = token.unicodeScalars.makeIterator()
            guard let only = scalars.next(), scalars.next() == nil, characterTokens[only.value] == nil else { continue }
            characterTokens[only.value] = TokenID(id)
            if only.value < 128 { asciiTokens[Int(only.value)] = TokenID(id) }
        }
        self.characterTokens = characterTokens
        self.asciiTokens = asciiTokens
        self.merges = merges
        self.byteTokens = byteFallback ? ByteFallback.byteTokens(tokenToId) : nil
        self.unknownTokenId = unknownTokenId
        self.fuseUnknown = fuseUnknown
        self.wholePieces = ignoreMerges ? tokenToId : nil
    }

    @inline(__always)
    func token(of scalar: Unicode.Scalar) -> TokenID? {
        if scalar.value < 128 {
            let id = asciiTokens[Int(scalar.value)]
            return id >= 0 ? id : nil
        }
        return characterTokens[scalar.value]
    }

    func encode(_ scalars: ArraySlice<Unicode.Scalar>, into ids: inout [TokenID], scratch: inout EncodeScratch) {
        if let wholePieces, let id = wholePieces[scalars] {
            ids.append(id)
            return
        }
        scratch.word.removeAll(keepingCapacity: true)
        // As in Hugging Face: an unknown token waits until the next known character (or the end),
        // so that a run of them can be fused; byte-fallback tokens do not flush it.
        var pendingUnknown = false
        for scalar in scalars {
            if let id = token(of: scalar) {
                if pendingUnknown, let unknown = unknownTokenId { scratch.word.append(unknown) }
                pendingUnknown = false
                scratch.word.append(id)
                continue
            }
            if let byteTokens, appendBytes(of: scalar, byteTokens, to: &scratch) { continue }
            guard let unknown = unknownTokenId else { continue }  // no unknown token: dropped
            if pendingUnknown && !fuseUnknown { scratch.word.append(unknown) }
            pendingUnknown = true
        }
        if pendingUnknown, let unknown = unknownTokenId { scratch.word.append(unknown) }
        merges.merge(&scratch.word, scratch: &scratch.bpe)
        ids.append(contentsOf: scratch.word)
    }

    /// The byte tokens of `scalar`, when the vocabulary has every one of them.
    private func appendBytes(of scalar: Unicode.Scalar, _ byteTokens: [TokenID], to scratch: inout EncodeScratch) -> Bool {
        scratch.bytes.removeAll(keepingCapacity: true)
        UTF8Bytes.append(scalar, to: &scratch.bytes)
        guard scratch.bytes.allSatisfy({ byteTokens[Int($0)] >= 0 }) else { return false }
        for byte in scratch.bytes { scratch.word.append(byteTokens[Int(byte)]) }
        return true
    }
}
