// Flora's tokenizer: byte-level BPE (GPT-2 alphabet, Hugging Face merge order) with added
// tokens, hand-written pre-tokenizers and the model's chat template. Immutable after
// construction, so one instance serves every request at once.

import Foundation

/// A token's index in the vocabulary. Token ids are `Int32` everywhere in Flora: in the
/// tokenizer, the engine's batches, the sampler and the training data.
public typealias TokenID = Int32

public final class Tokenizer: Sendable {
    /// Vocabulary in id order, in byte-level spelling.
    public let tokens: [String]
    public let preTokenizer: PreTokenizer
    public let normalization: Normalization
    public let ignoreMerges: Bool
    public let bosTokenId: TokenID?
    public let eosTokenId: TokenID?
    public let padTokenId: TokenID?
    public let unknownTokenId: TokenID?
    public let addBOS: Bool
    /// Ids that end generation: EOS, the end-of-turn ids given, and special tokens whose text
    /// is a known end marker (`<|im_end|>`, `<|endoftext|>`, `<|eot_id|>` …), as llama.cpp does.
    public let stopTokenIds: Set<TokenID>
    /// The model's Jinja chat template (nil: `applyChatTemplate` writes plain ChatML).
    public let chatTemplate: String?
    /// Tokens matched whole in text, special or not.
    public var addedTokens: [AddedToken] { addedTokenMatcher.tokens }

    let tokenToId: [String: TokenID]
    let merges: BPEMerges
    /// Id of the one-byte token of each byte (-1: none, only possible when `unknownTokenId` is set).
    let byteTokens: [Int32]
    /// What each token decodes to: `tokenBytes[tokenByteOffsets[id] ..< tokenByteOffsets[id + 1]]`.
    let tokenBytes: [UInt8]
    let tokenByteOffsets: [Int32]
    /// Tokens `decode(skipSpecialTokens: true)` drops.
    let special: [Bool]
    let addedTokenMatcher: AddedTokenMatcher
    /// For `ignoreMerges`: the normal tokens by the bytes they stand for.
    let wholePieces: [[UInt8]: Int32]
    let parsedChatTemplate: ParsedChatTemplate

    public var vocabularySize: Int { tokens.count }

    public init(_ spec: TokenizerSpec) throws {
        let count = spec.tokens.count
        guard count > 0 else {
            throw TokenizerError.invalid(field: "tokens", expected: "a non-empty vocabulary", found: "0 tokens")
        }
        guard count < Int(Int32.max) else {
            throw TokenizerError.invalid(field: "tokens", expected: "fewer than 2^31 tokens", found: "\(count)")
        }
        if let types = spec.tokenTypes, types.count != count {
            throw TokenizerError.invalid(field: "token_type", expected: "\(count) entries (one per token)", found: "\(types.count)")
        }
        func checkId(_ id: TokenID?, _ field: String) throws {
            if let id, !(0..<count).contains(Int(id)) {
                throw TokenizerError.invalid(field: field, expected: "a token id in 0..<\(count)", found: "\(id)")
            }
        }
        try checkId(spec.bosTokenId, "bos_token_id")
        try checkId(spec.eosTokenId, "eos_token_id")
        try checkId(spec.padTokenId, "padding_token_id")
        try checkId(spec.unknownTokenId, "unknown_token_id")
        for id in spec.endOfTurnTokenIds { try checkId(id, "end-of-turn token id") }

        var tokenToId: [String: TokenID] = [:]
        tokenToId.reserveCapacity(count)
        for (id, token) in spec.tokens.enumerated() where tokenToId[token] == nil { tokenToId[token] = TokenID(id) }

        // Added tokens: implied by the token types, then replaced or extended by the explicit list.
        var addedById: [TokenID: AddedToken] = [:]
        var types = [TokenType](repeating: .normal, count: count)
        if let rawTypes = spec.tokenTypes {
            for (id, raw) in rawTypes.enumerated() {
                guard let type = TokenType(rawValue: raw) else {
                    throw TokenizerError.invalid(field: "token_type[\(id)]", expected: "1…6", found: "\(raw)")
                }
                types[id] = type
                switch type {
                case .control, .unknown: addedById[TokenID(id)] = AddedToken(content: spec.tokens[id], id: TokenID(id), special: true)
                case .userDefined: addedById[TokenID(id)] = AddedToken(content: spec.tokens[id], id: TokenID(id), special: false)
                default: break
                }
            }
        }
        for token in spec.addedTokens {
            try checkId(token.id, "added token \"\(token.content)\"")
            addedById[token.id] = token
        }
        let added = addedById.values.sorted { $0.id < $1.id }

        // What each token decodes to.
        var bytes: [UInt8] = []
        var offsets: [Int32] = [0]
        offsets.reserveCapacity(count + 1)
        var special = [Bool](repeating: false, count: count)
        for id in 0..<count {
            if let token = addedById[TokenID(id)] {
                bytes.append(contentsOf: token.content.utf8)
                special[id] = token.special
            } else if types[id] == .byte, let byte = Self.byteTokenValue(spec.tokens[id]) {
                bytes.append(byte)
            } else {
                bytes.append(contentsOf: ByteLevel.bytes(ofToken: spec.tokens[id]))
            }
            guard bytes.count < Int(Int32.max) else {
                throw TokenizerError.invalid(field: "tokens", expected: "under 2 GiB of token text", found: "more")
            }
            offsets.append(Int32(bytes.count))
        }

        var byteTokens = [Int32](repeating: -1, count: 256)
        for byte in 0..<256 {
            if let id = tokenToId[String(ByteLevel.characters[byte])] {
                byteTokens[byte] = id
            } else if spec.unknownTokenId == nil {
                throw TokenizerError.invalid(
                    field: "tokens", expected: "a byte-level token for every byte (or an unknown token)",
                    found: "no token \"\(ByteLevel.characters[byte])\" for byte 0x\(String(byte, radix: 16, uppercase: true))")
            }
        }

        var rules: [(left: TokenID, right: TokenID, merged: TokenID)] = []
        rules.reserveCapacity(spec.merges.count)
        for (rank, merge) in spec.merges.enumerated() {
            rules.append(try Self.parseMerge(merge, rank: rank, tokenToId))
        }

        var wholePieces: [[UInt8]: Int32] = [:]
        if spec.ignoreMerges {
            for id in 0..<count where addedById[TokenID(id)] == nil && types[id] == .normal {
                let piece = Array(bytes[Int(offsets[id])..<Int(offsets[id + 1])])
                if wholePieces[piece] == nil { wholePieces[piece] = Int32(id) }
            }
        }

        var stop = Set<TokenID>(spec.endOfTurnTokenIds)
        if let eos = spec.eosTokenId { stop.insert(eos) }
        for token in added where token.special && Self.endMarkers.contains(token.content) { stop.insert(token.id) }

        self.tokens = spec.tokens
        self.preTokenizer = spec.preTokenizer
        self.normalization = spec.normalization
        self.ignoreMerges = spec.ignoreMerges
        self.bosTokenId = spec.bosTokenId
        self.eosTokenId = spec.eosTokenId
        self.padTokenId = spec.padTokenId
        self.unknownTokenId = spec.unknownTokenId
        self.addBOS = spec.addBOS
        self.stopTokenIds = stop
        self.chatTemplate = spec.chatTemplate
        self.tokenToId = tokenToId
        self.merges = BPEMerges(rules: rules)
        self.byteTokens = byteTokens
        self.tokenBytes = bytes
        self.tokenByteOffsets = offsets
        self.special = special
        self.addedTokenMatcher = AddedTokenMatcher(added)
        self.wholePieces = wholePieces
        self.parsedChatTemplate = ParsedChatTemplate(spec.chatTemplate)
    }

    /// Texts of special tokens that end a turn or a document (llama.cpp's end-of-generation list).
    static let endMarkers: Set<String> = [
        "<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end|>", "<end_of_turn>",
        "<|end_of_text|>", "<EOT>", "<|return|>",
    ]

    /// "left right" → ids. The split is at the first space after the first character, as
    /// llama.cpp does (byte-level tokens hold no spaces; the first character may be one).
    static func parseMerge(_ merge: String, rank: Int, _ tokenToId: [String: TokenID]) throws -> (left: TokenID, right: TokenID, merged: TokenID) {
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

    /// The byte of a GGUF byte token such as `<0x0A>`.
    static func byteTokenValue(_ token: String) -> UInt8? {
        guard token.hasPrefix("<0x"), token.hasSuffix(">"), token.utf8.count == 6 else { return nil }
        return UInt8(token.dropFirst(3).dropLast(), radix: 16)
    }

    // MARK: Vocabulary lookups

    /// The vocabulary spelling of `id`, or nil when out of range.
    public func token(for id: TokenID) -> String? {
        tokens.indices.contains(Int(id)) ? tokens[Int(id)] : nil
    }

    /// The id of a token given in vocabulary spelling.
    public func id(for token: String) -> TokenID? { tokenToId[token] }

    /// The bytes `id` decodes to (special tokens: their text), or nil when out of range.
    public func bytes(for id: TokenID) -> [UInt8]? {
        guard tokens.indices.contains(Int(id)) else { return nil }
        return Array(tokenBytes[Int(tokenByteOffsets[Int(id)])..<Int(tokenByteOffsets[Int(id) + 1])])
    }

    /// Whether `id` is a special (control) token, which `decode(skipSpecialTokens: true)` drops.
    public func isSpecial(_ id: TokenID) -> Bool { special.indices.contains(Int(id)) && special[Int(id)] }
}
