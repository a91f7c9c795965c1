// Small hand-made vocabularies: the 256 byte tokens (id = byte value), then one token per
// merge rule in rank order, then the added tokens.

import FloraTokenizer

enum TinyVocabulary {
    static func spec(merges: [String] = [], added: [(String, Bool)] = [], bos: String? = nil, eos: String? = nil,
                     preTokenizer: PreTokenizer = .gpt2, chatTemplate: String? = nil) -> TokenizerSpec {
        var tokens = (0..<256).map { String(ByteLevel.characters[$0]) }
        for merge in merges {
            let parts = merge.split(separator: " ", maxSplits: 1).map(String.init)
            if !tokens.contains(parts[0] + parts[1]) { tokens.append(parts[0] + parts[1]) }
        }
        var addedTokens: [AddedToken] = []
        for (content, special) in added {
            addedTokens.append(AddedToken(content: content, id: TokenID(tokens.count), special: special))
            tokens.append(content)
        }
        return TokenizerSpec(
            tokens: tokens, merges: merges, addedTokens: addedTokens, preTokenizer: preTokenizer,
            bosTokenId: bos.flatMap { tokens.firstIndex(of: $0) }.map(TokenID.init), eosTokenId: eos.flatMap { tokens.firstIndex(of: $0) }.map(TokenID.init),
            chatTemplate: chatTemplate)
    }

    static func tokenizer(merges: [String] = [], added: [(String, Bool)] = [], bos: String? = nil, eos: String? = nil,
                          preTokenizer: PreTokenizer = .gpt2, chatTemplate: String? = nil) throws -> Tokenizer {
        try Tokenizer(spec(merges: merges, added: added, bos: bos, eos: eos, preTokenizer: preTokenizer, chatTemplate: chatTemplate))
    }
}
