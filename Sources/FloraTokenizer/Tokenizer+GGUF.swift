// Construction from GGUF metadata (github.com/ggml-org/ggml docs/gguf.md, "Tokenizer" keys).
// The caller reads the values with its GGUF reader; this layer takes plain Swift values so
// that it does not depend on the file-format layer.

extension Tokenizer {
    /// Builds the tokenizer from the `tokenizer.*` metadata of a GGUF file.
    /// - Parameters:
    ///   - model: `tokenizer.ggml.model`; only "gpt2" (byte-level BPE) is supported.
    ///   - pre: `tokenizer.ggml.pre` (absent: "default", read as GPT-2's regex).
    ///   - tokens: `tokenizer.ggml.tokens`.
    ///   - merges: `tokenizer.ggml.merges` (required for BPE).
    ///   - tokenTypes: `tokenizer.ggml.token_type`.
    ///   - bosTokenId: `tokenizer.ggml.bos_token_id`; likewise `eos_token_id`,
    ///     `padding_token_id`, `unknown_token_id`, `eot_token_id`, `eom_token_id`.
    ///   - addBOSToken: `tokenizer.ggml.add_bos_token` (absent: llama.cpp's default for `pre`).
    ///   - chatTemplate: `tokenizer.chat_template`.
    public static func fromGGUFMetadata(
        model: String,
        pre: String?,
        tokens: [String],
        merges: [String]?,
        tokenTypes: [Int]?,
        bosTokenId: Int?,
        eosTokenId: Int?,
        paddingTokenId: Int?,
        unknownTokenId: Int?,
        eotTokenId: Int? = nil,
        eomTokenId: Int? = nil,
        addBOSToken: Bool?,
        chatTemplate: String?
    ) throws -> Tokenizer {
        guard model == "gpt2" else {
            throw TokenizerError.unsupported(
                what: "GGUF tokenizer model `tokenizer.ggml.model` = \"\(model)\"",
                supported: "\"gpt2\" (byte-level BPE)")
        }
        guard let merges else { throw TokenizerError.missing(field: "tokenizer.ggml.merges") }
        let (preTokenizer, ignoreMerges) = try PreTokenizer.gguf(pre)
        /// GGUF stores ids as unsigned 32-bit integers; Flora's ids are `Int32`.
        func tokenID(_ value: Int?, _ key: String) throws -> TokenID? {
            guard let value else { return nil }
            guard let id = TokenID(exactly: value) else {
                throw TokenizerError.invalid(field: key, expected: "a token id below 2^31", found: "\(value)")
            }
            return id
        }
        // llama.cpp adds BOS by default for the Llama 3 family only.
        let defaultAddBOS = ignoreMerges
        return try Tokenizer(TokenizerSpec(
            tokens: tokens,
            merges: merges,
            tokenTypes: tokenTypes,
            preTokenizer: preTokenizer,
            ignoreMerges: ignoreMerges,
            bosTokenId: try tokenID(bosTokenId, "tokenizer.ggml.bos_token_id"),
            eosTokenId: try tokenID(eosTokenId, "tokenizer.ggml.eos_token_id"),
            padTokenId: try tokenID(paddingTokenId, "tokenizer.ggml.padding_token_id"),
            unknownTokenId: try tokenID(unknownTokenId, "tokenizer.ggml.unknown_token_id"),
            endOfTurnTokenIds: [try tokenID(eotTokenId, "tokenizer.ggml.eot_token_id"),
                                try tokenID(eomTokenId, "tokenizer.ggml.eom_token_id")].compactMap { $0 },
            addBOS: addBOSToken ?? defaultAddBOS,
            chatTemplate: chatTemplate))
    }
}
