// The model that turns one piece of text into ids, built from a TokenizerSpec: which one, and
// the checks each needs of the vocabulary.

enum EncodingModel: Sendable {
    case byteLevelBPE(ByteLevelBPE)
    case bpe(CharacterBPE)
    case sentencePieceBPE(SentencePieceBPE)
    case unigram(Unigram)

    init(_ spec: TokenizerSpec, types: [TokenType], added: [TokenID: AddedToken], tokenToId: TokenLookup,
         tokenBytes: (bytes: [UInt8], offsets: [Int32], kinds: [UInt8])) throws {
        let count = spec.tokens.count
        switch spec.model {
        case .byteLevelBPE:
            var byteTokens = [TokenID](repeating: -1, count: 256)
            for byte in 0..<256 {
                if let id = tokenToId[String(ByteLevel.characters[byte])] {
                    byteTokens[byte] = id
                } else if spec.unknownTokenId == nil {
                    throw TokenizerError.invalid(
                        field: "tokens", expected: "a byte-level token for every byte (or an unknown token)",
                        found: "no token \"\(ByteLevel.characters[byte])\" for byte 0x\(String(byte, radix: 16, uppercase: true))")
                }
            }
            var wholePieces: [[UInt8]: TokenID]? = nil
            if spec.ignoreMerges {
                var pieces: [[UInt8]: TokenID] = [:]
                for id in 0..<count where added[TokenID(id)] == nil && types[id] == .normal {
                    let piece = Array(tokenBytes.bytes[Int(tokenBytes.offsets[id])..<Int(tokenBytes.offsets[id + 1])])
                    if pieces[piece] == nil { pieces[piece] = TokenID(id) }
                }
                wholePieces = pieces
            }
            self = .byteLevelBPE(ByteLevelBPE(
                byteTokens: byteTokens, merges: try Self.merges(spec.merges, tokenToId),
                unknownTokenId: spec.unknownTokenId, wholePieces: wholePieces))
        case .bpe:
            self = .bpe(CharacterBPE(
                tokens: spec.tokens, tokenToId: tokenToId, merges: try Self.merges(spec.merges, tokenToId),
                byteFallback: spec.byteFallback, unknownTokenId: spec.unknownTokenId, fuseUnknown: spec.fuseUnknown,
                ignoreMerges: spec.ignoreMerges))
        case .sentencePieceBPE:
            let scores = try Self.scores(spec)
            self = .sentencePieceBPE(SentencePieceBPE(
                tokens: spec.tokens, tokenToId: tokenToId, scores: scores,
                mergeable: types.map { $0 == .normal || $0 == .userDefined || $0 == .unused },
                unused: types.map { $0 == .unused }, unknownTokenId: spec.unknownTokenId))
        case .unigram:
            let scores = try Self.scores(spec)
            self = .unigram(Unigram(
                tokens: spec.tokens, scores: scores, tokenToId: tokenToId, byteFallback: spec.byteFallback,
                unknownTokenId: spec.unknownTokenId))
        }
    }

    func encode(_ scalars: ArraySlice<Unicode.Scalar>, into ids: inout [TokenID], scratch: inout EncodeScratch) {
        switch self {
        case .byteLevelBPE(let model): model.encode(scalars, into: &ids, scratch: &scratch)
        case .bpe(let model): model.encode(scalars, into: &ids, scratch: &scratch)
        case .sentencePieceBPE(let model): model.encode(scalars, into: &ids, scratch: &scratch)
        case .unigram(let model): model.encode(scalars, into: &ids, scratch: &scratch)
        }
    }

    /// One finite score per token.
    static func scores(_ spec: TokenizerSpec) throws -> [Double] {
        guard let scores = spec.scores else { throw TokenizerError.missing(field: "scores") }
        guard scores.count == spec.tokens.count else {
            throw TokenizerError.invalid(field: "scores", expected: "\(spec.tokens.count) entries (one per token)", found: "\(scores.count)")
        }
        if let bad = scores.firstIndex(where: { !$0.isFinite }) {
            throw TokenizerError.invalid(field: "scores[\(bad)]", expected: "a finite number", found: "\(scores[bad])")
        }
        return scores
    }

    /// The merge rules, each "left right" → ids, in rank order.
    static func merges(_ merges: [String], _ tokenToId: TokenLookup) throws -> BPEMerges {
        var rules: [(left: TokenID, right: TokenID, merged: TokenID)] = []
        rules.reserveCapacity(merges.count)
        for (rank, merge) in merges.enumerated() {
            rules.append(try parseMerge(merge, rank: rank, tokenToId))
        }
        return BPEMerges(rules: rules)
    }

    /// "left right" → ids. The split is at the first space after the first character, as
    /// llama.cpp does (byte-level tokens hold no spaces; the first character may be one).
    static func parseMerge(_ merge: String, rank: Int, _ tokenToId: TokenLookup) throws -> (left: TokenID, right: TokenID, merged: TokenID) {
        let field = "merges[\(rank)]"
        guard !merge.isEmpty, let space = merge.unicodeScalars.dropFirst().firstIndex(of: " ") else {
            throw TokenizerError.invalid(field: field, expected: "\"left right\"", found: "\"\(merge)\"")
        }
        let left = String(merge.unicodeScalars[..<space])
        let right = String(merge.unicodeScalars[merge.unicodeScalars.index(after: space)...])
        guard let leftId = tokenToId[left] else {
            throw TokenizerError.invalid(field: field, expected: "\"\(left)\" in the vocabulary", found: "no such token")
        }
        guard let rightId = tokenToId[right] else {
            throw TokenizerError.invalid(field: field, expected: "\"\(right)\" in the vocabulary", found: "no such token")
        }
        guard let mergedId = tokenToId[left + right] else {
            throw TokenizerError.invalid(field: field, expected: "the merged token \"\(left + right)\" in the vocabulary", found: "no such token")
        }
        return (leftId, rightId, mergedId)
    }
}
