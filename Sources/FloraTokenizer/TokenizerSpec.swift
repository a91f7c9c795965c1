// The plain data a tokenizer is built from, whatever file it came from: GGUF metadata
// (`tokenizer.ggml.*`) and Hugging Face tokenizer.json both reduce to this.

/// GGUF's `tokenizer.ggml.token_type` values (llama.cpp `llama_token_type`, the numbering of
/// SentencePiece's piece types).
public enum TokenType: Int, Sendable {
    case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

/// How a vocabulary turns a piece of text into ids.
public enum TokenizerModelKind: String, Sendable, CustomStringConvertible {
    /// GPT-2's byte-level BPE: a piece's bytes are one-byte tokens that merge by rank.
    case byteLevelBPE = "byte-level BPE"
    /// Hugging Face BPE over characters: characters are tokens (or byte-fallback `<0xNN>` tokens,
    /// or the unknown token) that merge by rank.
    case bpe = "BPE"
    /// SentencePiece BPE (GGUF "llama"): the adjacent pair making the highest-scoring piece merges first.
    case sentencePieceBPE = "SentencePiece BPE"
    /// SentencePiece Unigram (Hugging Face "Unigram"): the segmentation with the highest total score.
    case unigram = "Unigram"

    public var description: String { rawValue }
}

public struct TokenizerSpec: Sendable {
    /// Vocabulary in id order, as the file spells it (`Ġ` for a space in byte-level
    /// vocabularies, `▁` in SentencePiece ones).
    public var tokens: [String]
    public var model: TokenizerModelKind
    /// Merge rules in rank order, each "left right" (split at the first space after the first
    /// character): byte-level BPE and BPE.
    public var merges: [String]
    /// One score per token: SentencePiece BPE (merge priority) and Unigram (log-probability).
    public var scores: [Double]?
    /// One `TokenType` raw value per token (GGUF), or nil: all normal.
    public var tokenTypes: [Int]?
    /// Tokens matched whole in the text, beyond those that `tokenTypes` marks (control and
    /// unknown tokens become special added tokens, user-defined ones plain added tokens).
    /// An entry here replaces the one `tokenTypes` implies for the same id.
    public var addedTokens: [AddedToken]
    /// Applied to each piece of text between added tokens.
    public var normalizer: Normalizer
    /// Hugging Face's Metaspace pre-tokenizer, applied after the normalizer.
    public var metaspace: Metaspace?
    public var preTokenizer: PreTokenizer
    public var decoder: TokenDecoder
    /// Look a whole piece up in the vocabulary before merging (llama.cpp / Hugging Face `ignore_merges`).
    public var ignoreMerges: Bool
    /// BPE: a character the vocabulary lacks becomes the `<0xNN>` tokens of its bytes.
    public var byteFallback: Bool
    /// BPE: a run of unknown characters becomes one unknown token (Hugging Face `fuse_unk`).
    public var fuseUnknown: Bool
    public var bosTokenId: TokenID?
    public var eosTokenId: TokenID?
    public var padTokenId: TokenID?
    public var unknownTokenId: TokenID?
    /// Further ids that end a turn (GGUF `tokenizer.ggml.eot_token_id`, `eom_token_id` …).
    public var endOfTurnTokenIds: [TokenID]
    /// Whether `encode(_:addSpecialTokens: true)` puts `bosTokenId` first.
    public var addBOS: Bool
    /// Whether `encode(_:addSpecialTokens: true)` puts `eosTokenId` last.
    public var addEOS: Bool
    /// The model's Jinja chat template, if it has one.
    public var chatTemplate: String?

    public init(
        tokens: [String],
        model: TokenizerModelKind = .byteLevelBPE,
        merges: [String] = [],
        scores: [Double]? = nil,
        tokenTypes: [Int]? = nil,
        addedTokens: [AddedToken] = [],
        normalizer: Normalizer = .none,
        metaspace: Metaspace? = nil,
        preTokenizer: PreTokenizer = .gpt2,
        decoder: TokenDecoder = .byteLevel,
        ignoreMerges: Bool = false,
        byteFallback: Bool = false,
        fuseUnknown: Bool = false,
        bosTokenId: TokenID? = nil,
        eosTokenId: TokenID? = nil,
        padTokenId: TokenID? = nil,
        unknownTokenId: TokenID? = nil,
        endOfTurnTokenIds: [TokenID] = [],
        addBOS: Bool = false,
        addEOS: Bool = false,
        chatTemplate: String? = nil
    ) {
        self.tokens = tokens
        self.model = model
        self.merges = merges
        self.scores = scores
        self.tokenTypes = tokenTypes
        self.addedTokens = addedTokens
        self.normalizer = normalizer
        self.metaspace = metaspace
        self.preTokenizer = preTokenizer
        self.decoder = decoder
        self.ignoreMerges = ignoreMerges
        self.byteFallback = byteFallback
        self.fuseUnknown = fuseUnknown
        self.bosTokenId = bosTokenId
        self.eosTokenId = eosTokenId
        self.padTokenId = padTokenId
        self.unknownTokenId = unknownTokenId
        self.endOfTurnTokenIds = endOfTurnTokenIds
        self.addBOS = addBOS
        self.addEOS = addEOS
        self.chatTemplate = chatTemplate
    }
}
