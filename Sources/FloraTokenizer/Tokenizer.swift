// Flora's tokenizer: a vocabulary with its model (byte-level BPE, BPE with byte fallback,
// SentencePiece BPE), added tokens, normalizer, pre-tokenizer, decoder and the model's chat
// template. Immutable after construction, so one instance serves every request at once.

import Foundation

/// A token's index in the vocabulary. Token ids are `Int32` everywhere in Flora: in the
/// tokenizer, the engine's batches, the sampler and the training data.
public typealias TokenID = Int32

public final class Tokenizer: Sendable {
    /// Vocabulary in id order, as the file spells it.
    public let tokens: [String]
    public let model: TokenizerModelKind
    public let normalizer: Normalizer
    public let metaspace: Metaspace?
    public let preTokenizer: PreTokenizer
    public let decoder: TokenDecoder
    public let ignoreMerges: Bool
    public let bosTokenId: TokenID?
    public let eosTokenId: TokenID?
    public let padTokenId: TokenID?
    public let unknownTokenId: TokenID?
    public let addBOS: Bool
    public let addEOS: Bool
    /// Ids that end generation: EOS, the end-of-turn ids given, and special tokens whose text
    /// is a known end marker (`<|im_end|>`, `<|endoftext|>`, `<|eot_id|>` …), as llama.cpp does.
    public let stopTokenIds: Set<TokenID>
    /// The model's Jinja chat template (nil: `applyChatTemplate` writes plain ChatML).
    public let chatTemplate: String?
    /// Tokens matched whole in text, special or not.
    public var addedTokens: [AddedToken] { addedTokenMatcher.tokens }

    let tokenToId: TokenLookup
    let encoder: EncodingModel
    /// What each token decodes to: `tokenBytes[tokenByteOffsets[id] ..< tokenByteOffsets[id + 1]]`.
    let tokenBytes: [UInt8]
    let tokenByteOffsets: [Int32]
    /// `TokenKind` bits of each token.
    let tokenKinds: [UInt8]
    let addedTokenMatcher: AddedTokenMatcher
    let parsedChatTemplate: ParsedChatTemplate

    public var vocabularySize: Int { tokens.count }

    public init(_ spec: TokenizerSpec) throws {
        let count = spec.tokens.count
        guard count > 0 else {
            throw TokenizerError.invalid(field: "tokens", expected: "a non-empty vocabulary", found: "0 tokens")
        }
        guard count < Int(Int32.max) / 2 else {
            throw TokenizerError.invalid(field: "tokens", expected: "fewer than 2^30 tokens", found: "\(count)")
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

        let tokenToId = TokenLookup(spec.tokens)

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

        let surfaces = try Self.surfaces(spec, types: types, added: addedById)
        let encoder = try EncodingModel(spec, types: types, added: addedById, tokenToId: tokenToId, tokenBytes: surfaces)

        var stop = Set<TokenID>(spec.endOfTurnTokenIds)
        if let eos = spec.eosTokenId { stop.insert(eos) }
        for token in added where token.special && Self.endMarkers.contains(token.content) { stop.insert(token.id) }

        self.tokens = spec.tokens
        self.model = spec.model
        self.normalizer = spec.normalizer
        self.metaspace = spec.metaspace
        self.preTokenizer = spec.preTokenizer
        self.decoder = spec.decoder
        self.ignoreMerges = spec.ignoreMerges
        self.bosTokenId = spec.bosTokenId
        self.eosTokenId = spec.eosTokenId
        self.padTokenId = spec.padTokenId
        self.unknownTokenId = spec.unknownTokenId
        self.addBOS = spec.addBOS
        self.addEOS = spec.addEOS
        self.stopTokenIds = stop
        self.chatTemplate = spec.chatTemplate
        self.tokenToId = tokenToId
        self.encoder = encoder
        self.tokenBytes = surfaces.bytes
        self.tokenByteOffsets = surfaces.offsets
        self.tokenKinds = surfaces.kinds
        self.addedTokenMatcher = AddedTokenMatcher(added)
        self.parsedChatTemplate = ParsedChatTemplate(spec.chatTemplate)
    }

    /// A copy that stops at none of its tokens (vLLM's `ignore_eos`): benchmarks generate exactly
    /// the lengths they ask for.
    public func ignoringStopTokens() -> Tokenizer { Tokenizer(self, stopTokenIds: []) }

    private init(_ other: Tokenizer, stopTokenIds: Set<TokenID>) {
        tokens = other.tokens
        model = other.model
        normalizer = other.normalizer
        metaspace = other.metaspace
        preTokenizer = other.preTokenizer
        decoder = other.decoder
        ignoreMerges = other.ignoreMerges
        bosTokenId = other.bosTokenId
        eosTokenId = other.eosTokenId
        padTokenId = other.padTokenId
        unknownTokenId = other.unknownTokenId
        addBOS = other.addBOS
        addEOS = other.addEOS
        self.stopTokenIds = stopTokenIds
        chatTemplate = other.chatTemplate
        tokenToId = other.tokenToId
        encoder = other.encoder
        tokenBytes = other.tokenBytes
        tokenByteOffsets = other.tokenByteOffsets
        tokenKinds = other.tokenKinds
        addedTokenMatcher = other.addedTokenMatcher
        parsedChatTemplate = other.parsedChatTemplate
    }

    /// Texts of special tokens that end a turn or a document (llama.cpp's end-of-generation list).
    static let endMarkers: Set<String> = [
        "<|endoftext|>", "<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|end|>", "<end_of_turn>",
        "<|end_of_text|>", "<EOT>", "<|return|>",
    ]

    /// What each token decodes to, and its kind (special, byte).
    static func surfaces(_ spec: TokenizerSpec, types: [TokenType], added: [TokenID: AddedToken])
        throws -> (bytes: [UInt8], offsets: [Int32], kinds: [UInt8]) {
        var bytes: [UInt8] = []
        var offsets: [Int32] = [0]
        var kinds = [UInt8](repeating: 0, count: spec.tokens.count)
        offsets.reserveCapacity(spec.tokens.count + 1)
        for (index, token) in spec.tokens.enumerated() {
            let id = TokenID(index)
            let addedToken = added[id]
            if addedToken?.special == true { kinds[index] |= TokenKind.special }
            switch spec.decoder {
            case .byteLevel:
                if let addedToken {
                    bytes.append(contentsOf: addedToken.content.utf8)
                } else if types[index] == .byte, let byte = ByteFallback.byte(ofToken: token) {
                    bytes.append(byte)
                } else {
                    bytes.append(contentsOf: ByteLevel.bytes(ofToken: token))
                }
            case .sentencePiece(let decoding):
                // Hugging Face's decoders see every token, added ones too; GGUF marks byte tokens
                // by type, Hugging Face's ByteFallback by spelling.
                let text = addedToken?.content ?? token
                let isByte = spec.tokenTypes == nil || types[index] == .byte
                if decoding.byteFallback, isByte, let byte = ByteFallback.byte(ofToken: text) {
                    bytes.append(byte)
                    kinds[index] |= TokenKind.byte
                } else if let replacement = decoding.replacement {
                    for scalar in text.unicodeScalars { UTF8Bytes.append(scalar == replacement ? " " : scalar, to: &bytes) }
                } else {
                    bytes.append(contentsOf: text.utf8)
                }
            }
            guard bytes.count < Int(Int32.max) else {
                throw TokenizerError.invalid(field: "tokens", expected: "under 2 GiB of token text", found: "more")
            }
            offsets.append(Int32(bytes.count))
        }
        return (bytes, offsets, kinds)
    }

    // MARK: Vocabulary lookups

    /// The vocabulary spelling of `id`, or nil when out of range.
    public func token(for id: TokenID) -> String? {
        tokens.indices.contains(Int(id)) ? tokens[Int(id)] : nil
    }

    /// The id of a token given in vocabulary spelling.
    public func id(for token: String) -> TokenID? { tokenToId[token] }

    /// The bytes `id` decodes to alone, before any decoder step that looks at its neighbours
    /// (special tokens: their text; SentencePiece: `▁` as a space), or nil when out of range.
    public func bytes(for id: TokenID) -> [UInt8]? {
        guard tokens.indices.contains(Int(id)) else { return nil }
        return Array(tokenBytes[Int(tokenByteOffsets[Int(id)])..<Int(tokenByteOffsets[Int(id) + 1])])
    }

    /// Whether `id` is a special (control) token, which `decode(skipSpecialTokens: true)` drops.
    public func isSpecial(_ id: TokenID) -> Bool {
        tokenKinds.indices.contains(Int(id)) && tokenKinds[Int(id)] & TokenKind.special != 0
    }
}
