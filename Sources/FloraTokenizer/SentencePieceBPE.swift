// SentencePiece's BPE encoding (sentencepiece bpe_model.cc `Model::SampleEncode` without
// dropout; llama.cpp's `llm_tokenizer_spm` for GGUF "llama" vocabularies): the text is split into
// characters; repeatedly, among adjacent symbols whose concatenation is a piece of the
// vocabulary, the pair making the highest-scoring piece merges (the leftmost on a tie); a final
// symbol that is an unused piece is split back into the two symbols it was made of; characters
// the vocabulary lacks become the `<0xNN>` tokens of their bytes (byte fallback) or the unknown
// token, a run of them one unknown token.
//
// The pairs are found once, when the vocabulary is read: for every piece that may be merged into
// (normal, user-defined and unused pieces, as SentencePiece's `pieces_`) and every split of it
// into two strings that can be symbols. Ranking them by the merged piece's score (equal scores,
// equal rank) turns "highest score, then leftmost" into BPEMerges' "lowest rank, then leftmost",
// so the merging itself is BPEMerges'.

struct SentencePieceBPE: Sendable {
    /// The symbol of each character: its token, or a synthetic id (≥ the vocabulary size) for a
    /// character that is no token but starts or ends a mergeable pair.
    let characterSymbols: [UInt32: TokenID]
    let asciiSymbols: [TokenID]
    /// The characters of the synthetic symbols, from id `vocabularySize` on.
    let syntheticCharacters: [Unicode.Scalar]
    let vocabularySize: Int
    let merges: BPEMerges
    /// Per token: an unused piece, split back after merging.
    let unused: [Bool]
    /// The characters of each token, for splitting unused pieces back.
    let tokenScalars: [[Unicode.Scalar]]
    /// `<0xNN>` token of each byte (-1: none).
    let byteTokens: [TokenID]
    let unknownTokenId: TokenID?

    /// - Parameters:
    ///   - mergeable: per token, whether merging may produce it.
    init(tokens: [String], tokenToId: TokenLookup, scores: [Double], mergeable: [Bool], unused: [Bool],
         unknownTokenId: TokenID?) {
        var characterSymbols: [UInt32: TokenID] = [:]
        for (id, token) in tokens.enumerated() {
            var scalars = token.unicodeScalars.makeIterator()
            if let only = scalars.next(), scalars.next() == nil, characterSymbols[only.value] == nil { characterSymbols[only.value] = TokenID(id) }
        }
        var syntheticCharacters: [Unicode.Scalar] = []
        /// The symbol a string can be during merging: a token that merging produces, or one character.
        func symbol(_ text: ArraySlice<Unicode.Scalar>) -> TokenID? {
            if text.count == 1 {
                let scalar = text[text.startIndex]
                if let id = characterSymbols[scalar.value] { return id }
                let synthetic = TokenID(tokens.count + syntheticCharacters.count)
                syntheticCharacters.append(scalar)
                characterSymbols[scalar.value] = synthetic
                return synthetic
            }
            guard let id = tokenToId[text], mergeable[Int(id)] else { return nil }
            return id
        }

        // Rank = position of the merged piece's score among all distinct scores, highest first.
        let distinctScores = Set(tokens.indices.filter { mergeable[$0] }.map { scores[$0] }).sorted(by: >)
        var rankOfScore: [Double: Int] = [:]
        for (rank, score) in distinctScores.enumerated() { rankOfScore[score] = rank }
        var rules: [(rank: Int, left: TokenID, right: TokenID, merged: TokenID)] = []
        var tokenScalars: [[Unicode.Scalar]] = []
        tokenScalars.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() {
            let scalars = Array(token.unicodeScalars)
            tokenScalars.append(scalars)
            guard mergeable[id], scalars.count > 1, tokenToId[token] == TokenID(id) else { continue }
            for cut in 1..<scalars.count {
                guard let left = symbol(scalars[..<cut]), let right = symbol(scalars[cut...]) else { continue }
                rules.append((rankOfScore[scores[id]]!, left, right, TokenID(id)))
            }
        }
        // BPEMerges takes rules in rank order; its rank is the index, so equal scores are given
        // equal ranks by keeping, for each rule, the index of the first rule of its score.
        rules.sort { ($0.rank, $0.merged) < ($1.rank, $1.merged) }
        var asciiSymbols = [TokenID](repeating: -1, count: 128)
        for (value, id) in characterSymbols where value < 128 { asciiSymbols[Int(value)] = id }

        self.characterSymbols = characterSymbols
        self.asciiSymbols = asciiSymbols
        self.syntheticCharacters = syntheticCharacters
        self.vocabularySize = tokens.count
        self.merges = BPEMerges(rankedRules: rules.map { ($0.rank, $0.left, $0.right, $0.merged) })
        self.unused = unused
        self.tokenScalars = tokenScalars
        self.byteTokens = ByteFallback.byteTokens(tokenToId)
        self.unknownTokenId = unknownTokenId
    }

    func encode(_ scalars: ArraySlice<Unicode.Scalar>, into ids: inout [TokenID], scratch: inout EncodeScratch) {
        scratch.word.removeAll(keepingCapacity: true)
        scratch.unknownScalars.removeAll(keepingCapacity: true)
        let unknownBase = TokenID(vocabularySize + syntheticCharacters.count)
        for scalar in scalars {
            if let id = symbol(of: scalar) {
                scratch.word.append(id)
            } else {
                // No rule holds this id, so it never merges; it stands for the character.
                scratch.word.append(unknownBase + TokenID(scratch.unknownScalars.count))
                scratch.unknownScalars.append(scalar)
            }
        }
        merges.merge(&scratch.word, scratch: &scratch.bpe)
        var previousUnknown = false
        for id in scratch.word {
            let scalar: Unicode.Scalar? = Int(id) < vocabularySize ? nil
                : id < unknownBase ? syntheticCharacters[Int(id) - vocabularySize] : scratch.unknownScalars[Int(id - unknownBase)]
            append(id, character: scalar, to: &ids, previousUnknown: &previousUnknown, bytes: &scratch.bytes)
        }
    }

    /// Writes one final symbol: a token (an unused one split back), or a character without a
    /// token as its byte tokens, or the unknown token (once for a run).
    private func append(_ id: TokenID, character: Unicode.Scalar?, to ids: inout [TokenID], previousUnknown: inout Bool,
                        bytes: inout [UInt8]) {
        guard let character else {
            if unused[Int(id)] {
                resegment(id, into: &ids, previousUnknown: &previousUnknown, bytes: &bytes)
            } else {
                ids.append(id)
                previousUnknown = false
            }
            return
        }
        bytes.removeAll(keepingCapacity: true)
        UTF8Bytes.append(character, to: &bytes)
        if bytes.allSatisfy({ byteTokens[Int($0)] >= 0 }) {
            for byte in bytes { ids.append(byteTokens[Int(byte)]) }
            previousUnknown = false
        } else if let unknown = unknownTokenId {
            // SentencePiece writes a run of unknown characters as one unknown piece.
            if !previousUnknown { ids.append(unknown) }
            previousUnknown = true
        }
    }

    @inline(__always)
    private func symbol(of scalar: Unicode.Scalar) -> TokenID? {
        if scalar.value < 128 {
            let id = asciiSymbols[Int(scalar.value)]
            return id >= 0 ? id : nil
        }
        return characterSymbols[scalar.value]
    }

    /// An unused piece in the output is replaced by the two symbols its last merge joined,
    /// recursively. Merging only ever looks inside a symbol's own characters, so those two are
    /// what merging the piece's characters alone leaves one step before the end.
    private func resegment(_ id: TokenID, into ids: inout [TokenID], previousUnknown: inout Bool, bytes: inout [UInt8]) {
        let characters = tokenScalars[Int(id)]
        var word = characters.map { symbol(of: $0) ?? -1 }
        guard word.count > 1, !word.contains(-1) else {
            ids.append(id)
            previousUnknown = false
            return
        }
        while word.count > 2, let (index, merged) = bestPair(word) {
            word[index] = merged
            word.remove(at: index + 1)
        }
        guard word.count == 2 else {
            ids.append(id)
            previousUnknown = false
            return
        }
        for part in word {
            // A part outside the vocabulary is a synthetic symbol: one character of the piece.
            let character = Int(part) < vocabularySize ? nil : syntheticCharacters[Int(part) - vocabularySize]
            append(part, character: character, to: &ids, previousUnknown: &previousUnknown, bytes: &bytes)
        }
    }

    private func bestPair(_ word: [TokenID]) -> (index: Int, merged: TokenID)? {
        var best: (rank: Int, index: Int, merged: TokenID)? = nil
        for i in 0..<(word.count - 1) {
            if let rule = merges.rule(left: word[i], right: word[i + 1]), best == nil || rule.rank < best!.rank {
                best = (rule.rank, i, rule.merged)
            }
        }
        return best.map { ($0.index, $0.merged) }
    }
}
