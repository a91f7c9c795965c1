// The vocabulary as a trie of the bytes each token adds to generated text, for token masks
// (JSONConstraint.swift): a walk visits each shared prefix once and skips a whole subtree as
// soon as its prefix is refused. Nodes are stored in preorder, so a subtree is a contiguous run
// of nodes and the walk is one loop over arrays.
//
// A token's bytes are what the streaming detokenizer appends for it in generated text
// (`Tokenizer.bytes(for:)`: byte-level tokens their raw bytes, SentencePiece pieces with `▁`
// as a space, byte-fallback tokens their one byte). Special tokens are left out: generated text
// drops them, so they add nothing a grammar could check.

import FloraTokenizer

public struct TokenTrie: Sendable {
    /// Per node, preorder; node 0 is the root (the empty prefix).
    let bytes: [UInt8]
    let depths: [UInt16]
    /// Nodes in the subtree, the node included.
    let subtreeSizes: [Int32]
    /// The tokens whose bytes end at node `i`: `tokens[tokenStarts[i] ..< tokenStarts[i + 1]]`.
    let tokenStarts: [Int32]
    let tokens: [Int32]
    let maxDepth: Int
    /// Each token's bytes: `tokenBytes[tokenOffsets[id] ..< tokenOffsets[id + 1]]` (empty: special).
    let tokenBytes: [UInt8]
    let tokenOffsets: [Int32]

    public var vocabularySize: Int { tokenOffsets.count - 1 }
    public var nodeCount: Int { bytes.count }

    public init(_ tokenizer: Tokenizer) {
        var tokenBytes: [UInt8] = []
        var tokenOffsets: [Int32] = [0]
        for id in 0..<Int32(tokenizer.vocabularySize) {
            if !tokenizer.isSpecial(id), let bytes = tokenizer.bytes(for: id) { tokenBytes += bytes }
            tokenOffsets.append(Int32(tokenBytes.count))
        }
        func slice(_ id: Int32) -> ArraySlice<UInt8> { tokenBytes[Int(tokenOffsets[Int(id)])..<Int(tokenOffsets[Int(id) + 1])] }

        // Sorted bytewise, each token adds the nodes of its bytes past what it shares with the
        // one before: that is the trie in preorder.
        let order = (0..<Int32(tokenOffsets.count - 1)).filter { !slice($0).isEmpty }
            .sorted { slice($0).lexicographicallyPrecedes(slice($1)) }
        var bytes: [UInt8] = [0], depths: [UInt16] = [0], tokenStarts: [Int32] = [0], tokens: [Int32] = []
        var previous: ArraySlice<UInt8> = []
        for id in order {
            let current = slice(id)
            let shared = zip(previous, current).prefix { $0 == $1 }.count
            for (depth, byte) in current.enumerated() where depth >= shared {
                tokenStarts.append(Int32(tokens.count))
                bytes.append(byte)
                depths.append(UInt16(depth + 1))
            }
            tokens.append(id)   // ends at the last node made (or at the same bytes as `previous`)
            previous = current
        }
        tokenStarts.append(Int32(tokens.count))
        // Tokens are appended after their node's start was recorded, so node i's tokens are those
        // recorded before node i + 1 started.
        var sizes = [Int32](repeating: 1, count: bytes.count)
        var open: [Int] = []   // ancestors of the node being visited
        for i in bytes.indices {
            while let last = open.last, depths[last] >= depths[i] {
                open.removeLast()
                if let parent = open.last { sizes[parent] += sizes[last] }
            }
            open.append(i)
        }
        while let last = open.popLast() {
            if let parent = open.last { sizes[parent] += sizes[last] }
        }
        self.bytes = bytes
        self.depths = depths
        subtreeSizes = sizes
        self.tokenStarts = tokenStarts
        self.tokens = tokens
        maxDepth = Int(depths.max() ?? 0)
        self.tokenBytes = tokenBytes
        self.tokenOffsets = tokenOffsets
    }

    /// What `token` adds to the text (empty for special tokens and ids outside the vocabulary).
    func bytes(of token: Int32) -> ArraySlice<UInt8> {
        guard token >= 0, Int(token) < vocabularySize else { return [] }
        return tokenBytes[Int(tokenOffsets[Int(token)])..<Int(tokenOffsets[Int(token) + 1])]
    }
}
