// Token spelling → id, comparing spellings byte for byte as `tokenizers`, sentencepiece and
// llama.cpp do. A `[String: …]` dictionary would not: Swift's String equality is canonical
// equivalence, so "é" (U+00E9) and "e\u{301}" would be one key, and a vocabulary that holds both
// (SentencePiece vocabularies without normalization can) would lose one of them.

struct TokenLookup: Sendable {
    private let ids: [[UInt8]: TokenID]

    /// The first id of each spelling.
    init(_ tokens: [String]) {
        var ids: [[UInt8]: TokenID] = [:]
        ids.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() where ids[Array(token.utf8)] == nil { ids[Array(token.utf8)] = TokenID(id) }
        self.ids = ids
    }

    subscript(_ token: String) -> TokenID? { ids[Array(token.utf8)] }

    subscript(_ scalars: some Sequence<Unicode.Scalar>) -> TokenID? {
        var bytes: [UInt8] = []
        for scalar in scalars { UTF8Bytes.append(scalar, to: &bytes) }
        return ids[bytes]
    }

    subscript(utf8 bytes: [UInt8]) -> TokenID? { ids[bytes] }
}
