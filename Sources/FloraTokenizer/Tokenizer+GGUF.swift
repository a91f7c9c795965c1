// Construction from GGUF metadata (github.com/ggml-org/ggml docs/gguf.md, "Tokenizer" keys) as
// llama.cpp reads it (llama-vocab.cpp): "gpt2" is byte-level BPE, "llama" SentencePiece BPE. The
// caller reads the values with its GGUF reader; this layer takes plain Swift values so that it
// does not depend on the file-format layer.

/// The `tokenizer.*` metadata of a GGUF file, as stored (ids not yet checked).
public struct GGUFTokenizerMetadata: Sendable {
    /// The file, named in errors.
    public var source: String
    /// `tokenizer.ggml.model`: "gpt2" (byte-level BPE) or "llama" (SentencePiece BPE).
    public var model: String
    /// `tokenizer.ggml.pre` (absent: "default").
    public var pre: String?
    public var tokens: [String]
    /// `tokenizer.ggml.scores` (SentencePiece: merge priority).
    public var scores: [Float]?
    public var tokenTypes: [Int]?
    /// `tokenizer.ggml.merges` (byte-level BPE).
    public var merges: [String]?
    public var bosTokenId: Int?
    public var eosTokenId: Int?
    public var paddingTokenId: Int?
    public var unknownTokenId: Int?
    public var eotTokenId: Int?
    public var eomTokenId: Int?
    /// `tokenizer.ggml.add_bos_token` / `add_eos_token` (absent: llama.cpp's default for the model).
    public var addBOSToken: Bool?
    public var addEOSToken: Bool?
    /// `tokenizer.ggml.add_space_prefix` (SentencePiece; absent: true).
    public var addSpacePrefix: Bool?
    /// `tokenizer.chat_template`.
    public var chatTemplate: String?

    public init(source: String, model: String, pre: String? = nil, tokens: [String], scores: [Float]? = nil,
                tokenTypes: [Int]? = nil, merges: [String]? = nil, bosTokenId: Int? = nil, eosTokenId: Int? = nil,
                paddingTokenId: Int? = nil, unknownTokenId: Int? = nil, eotTokenId: Int? = nil, eomTokenId: Int? = nil,
                addBOSToken: Bool? = nil, addEOSToken: Bool? = nil, addSpacePrefix: Bool? = nil, chatTemplate: String? = nil) {
        self.source = source
        self.model = model
        self.pre = pre
        self.tokens = tokens
        self.scores = scores
        self.tokenTypes = tokenTypes
        self.merges = merges
        self.bosTokenId = bosTokenId
        self.eosTokenId = eosTokenId
        self.paddingTokenId = paddingTokenId
        self.unknownTokenId = unknownTokenId
        self.eotTokenId = eotTokenId
        self.eomTokenId = eomTokenId
        self.addBOSToken = addBOSToken
        self.addEOSToken = addEOSToken
        self.addSpacePrefix = addSpacePrefix
        self.chatTemplate = chatTemplate
    }
}

extension Tokenizer {
    /// The tokenizer a GGUF file's metadata describes. Errors name the file and the key.
    public convenience init(gguf metadata: GGUFTokenizerMetadata) throws {
        let spec: TokenizerSpec
        do {
            spec = try Self.spec(gguf: metadata)
        } catch let error as TokenizerError {
            throw error.inFile(metadata.source)
        }
        do {
            try self.init(spec)
        } catch let error as TokenizerError {
            throw error.inFile(metadata.source)
        }
    }

    static func spec(gguf m: GGUFTokenizerMetadata) throws -> TokenizerSpec {
        /// GGUF stores ids as unsigned 32-bit integers; Flora's ids are `Int32`.
        func tokenID(_ value: Int?, _ key: String) throws -> TokenID? {
            guard let value else { return nil }
            guard let id = TokenID(exactly: value) else {
                throw TokenizerError.invalid(field: key, expected: "a token id below 2^31", found: "\(value)")
            }
            return id
        }
        let ids = (bos: try tokenID(m.bosTokenId, "tokenizer.ggml.bos_token_id"),
                   eos: try tokenID(m.eosTokenId, "tokenizer.ggml.eos_token_id"),
                   pad: try tokenID(m.paddingTokenId, "tokenizer.ggml.padding_token_id"),
                   unk: try tokenID(m.unknownTokenId, "tokenizer.ggml.unknown_token_id"),
                   endOfTurn: [try tokenID(m.eotTokenId, "tokenizer.ggml.eot_token_id"),
                               try tokenID(m.eomTokenId, "tokenizer.ggml.eom_token_id")].compactMap { $0 })
        switch m.model {
        case "gpt2":
            guard let merges = m.merges else { throw TokenizerError.missing(field: "tokenizer.ggml.merges") }
            let (preTokenizer, ignoreMerges) = try PreTokenizer.gguf(m.pre)
            // llama.cpp adds BOS by default for the Llama 3 family only.
            let defaultAddBOS = ignoreMerges
            return TokenizerSpec(
                tokens: m.tokens, model: .byteLevelBPE, merges: merges, tokenTypes: m.tokenTypes,
                preTokenizer: preTokenizer, ignoreMerges: ignoreMerges,
                bosTokenId: ids.bos, eosTokenId: ids.eos, padTokenId: ids.pad, unknownTokenId: ids.unk,
                endOfTurnTokenIds: ids.endOfTurn, addBOS: m.addBOSToken ?? defaultAddBOS, addEOS: m.addEOSToken ?? false,
                chatTemplate: m.chatTemplate)
        case "llama":
            guard let scores = m.scores else { throw TokenizerError.missing(field: "tokenizer.ggml.scores") }
            guard scores.count == m.tokens.count else {
                throw TokenizerError.invalid(field: "tokenizer.ggml.scores", expected: "\(m.tokens.count) entries (one per token)",
                                             found: "\(scores.count)")
            }
            // llama.cpp: every piece of text (the first, and each after an added token) gets a
            // space in front when add_space_prefix (default true); spaces are written "▁"; the
            // decoder turns "▁" back into spaces and drops the first one.
            let spacePrefix = m.addSpacePrefix ?? true
            let count = m.tokens.count
            // llama.cpp's defaults for SentencePiece vocabularies.
            func defaultId(_ id: TokenID) -> TokenID? { Int(id) < count ? id : nil }
            return TokenizerSpec(
                tokens: m.tokens, model: .sentencePieceBPE, scores: scores.map(Double.init), tokenTypes: m.tokenTypes,
                normalizer: spacePrefix ? .sentencePiece : Normalizer(steps: [.replace(" ", with: "▁")]),
                preTokenizer: PreTokenizer(steps: []),
                decoder: .sentencePiece(SentencePieceDecoding(stripLeadingSpaces: spacePrefix ? 1 : 0)),
                byteFallback: true,
                bosTokenId: ids.bos ?? defaultId(1), eosTokenId: ids.eos ?? defaultId(2), padTokenId: ids.pad,
                unknownTokenId: ids.unk ?? defaultId(0), endOfTurnTokenIds: ids.endOfTurn,
                addBOS: m.addBOSToken ?? true, addEOS: m.addEOSToken ?? false, chatTemplate: m.chatTemplate)
        default:
            throw TokenizerError.unsupported(
                item: "tokenizer.ggml.model", found: "\"\(m.model)\"",
                supported: "\"gpt2\" (byte-level BPE), \"llama\" (SentencePiece BPE)")
        }
    }
}
