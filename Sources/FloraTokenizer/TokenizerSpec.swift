// The plain data a byte-level BPE tokenizer is built from, whatever file it came from: GGUF
// metadata (`tokenizer.ggml.*`) and Hugging Face tokenizer.json both reduce to this.

/// GGUF's `tokenizer.ggml.token_type` values (llama.cpp `llama_token_type`).
public enum TokenType: Int, Sendable {
    case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

/// Unicode normalization applied to plain text before pre-tokenization (Hugging Face `normalizer`).
public enum Normalization: String, Sendable {
    case none
    case nfc
}

public struct TokenizerSpec: Sendable {
    /// Vocabulary in id order, in byte-level spelling (`Ġ` for a space …).
    public var tokens: [String]
    /// Merge rules in rank order, each "left right" (split at the first space after the first character).
    public var merges: [String]
    /// One `TokenType` raw value per token (GGUF), or nil: all normal.
    public var tokenTypes: [Int]?
    /// Tokens matched whole in the text, beyond those that `tokenTypes` marks (control and
    /// unknown tokens become special added tokens, user-defined ones plain added tokens).
    /// An entry here replaces the one `tokenTypes` implies for the same id.
    public var addedTokens: [AddedToken]
    public var preTokenizer: PreTokenizer
    public var normalization: Normalization
    /// Look a whole piece up in the vocabulary before merging (llama.cpp / Hugging Face `ignore_merges`).
    public var ignoreMerges: Bool
    public var bosTokenId: TokenID?
    public var eosTokenId: TokenID?
    public var padTokenId: TokenID?
    public var unknownTokenId: TokenID?
    /// Further ids that end a turn (GGUF `tokenizer.ggml.eot_token_id`, `eom_token_id` …).
    public var endOfTurnTokenIds: [TokenID]
    /// Whether `encode(_:addSpecialTokens: true)` puts `bosTokenId` first.
    public var addBOS: Bool
    /// The model's Jinja chat template, if it has one.
    public var chatTemplate: String?

    public init(
        tokens: [String],
        merges: [String],
        tokenTypes: [Int]? = nil,
        addedTokens: [AddedToken] = [],
        preTokenizer: PreTokenizer = .gpt2,
        normalization: Normalization = .none,
        ignoreMerges: Bool = false,
        bosTokenId: TokenID? = nil,
        eosTokenId: TokenID? = nil,
        padTokenId: TokenID? = nil,
        unknownTokenId: TokenID? = nil,
        endOfTurnTokenIds: [TokenID] = [],
        addBOS: Bool = false,
        chatTemplate: String? = nil
    ) {
        self.tokens = tokens
        self.merges = merges
        self.tokenTypes = tokenTypes
        self.addedTokens = addedTokens
        self.preTokenizer = preTokenizer
        self.normalization = normalization
        self.ignoreMerges = ignoreMerges
        self.bosTokenId = bosTokenId
        self.eosTokenId = eosTokenId
        self.padTokenId = padTokenId
        self.unknownTokenId = unknownTokenId
        self.endOfTurnTokenIds = endOfTurnTokenIds
        self.addBOS = addBOS
        self.chatTemplate = chatTemplate
    }
}
