// Unigram encoding as Hugging Face `tokenizers` does it (models/unigram/model.rs
// `encode_optimized`, after SentencePiece's unigram_model.cc): the segmentation of the piece
// whose tokens' scores sum highest (Viterbi over the lattice of vocabulary matches). A character
// no single-character token covers may also stand alone as "unknown" with the score
// `min score - 10`; adjacent unknown characters are fused; an unknown stretch becomes the
// `<0xNN>` tokens of its bytes (byte fallback) or the unknown token.
//
// As a plain loop (positions are characters, `best[0] = 0`):
//
//     for start in 0..<n, for every token t that the text at start begins with:
//         best[start + |t|] = max(best[start + |t|], best[start] + score(t))   (first wins a tie)
//     plus, when no one-character token starts there, the unknown candidate for one character;
//     then follow the winning links back from n.

struct Unigram: Sendable {
    private struct Node: Sendable {
        var children: [UInt32: Int32] = [:]
        /// The token that ends here, or -1.
        var token: TokenID = -1
    }

    private let nodes: [Node]
    private let scores: [Double]
    private let unknownScore: Double
    private let tokenToId: TokenLookup
    private let byteTokens: [TokenID]?
    private let unknownTokenId: TokenID?

    init(tokens: [String], scores: [Double], tokenToId: TokenLookup, byteFallback: Bool, unknownTokenId: TokenID?) {
        var nodes = [Node()]
        for (id, token) in tokens.enumerated() where !token.isEmpty {
            var node = 0
            for scalar in token.unicodeScalars {
                if let child = nodes[node].children[scalar.value] {
                    node = Int(child)
                } else {
                    nodes.append(Node())
                    nodes[node].children[scalar.value] = Int32(nodes.count - 1)
                    node = nodes.count - 1
                }
            }
            // Hugging Face keeps the last id of a repeated spelling.
            nodes[node].token = TokenID(id)
        }
        self.nodes = nodes
        self.scores = scores
        self.unknownScore = (scores.min() ?? 0) - 10
        self.tokenToId = tokenToId
        self.byteTokens = byteFallback ? ByteFallback.byteTokens(tokenToId) : nil
        self.unknownTokenId = unknownTokenId
    }

    func encode(_ scalars: ArraySlice<Unicode.Scalar>, into ids: inout [TokenID], scratch: inout EncodeScratch) {
        let text = Array(scalars)
        let n = text.count
        if n == 0 { return }
        // best[i]: score of the best segmentation of text[..<i], its last token and where it starts.
        var bestScore = [Double](repeating: 0, count: n + 1)
        var bestStart = [Int](repeating: -1, count: n + 1)
        var bestToken = [TokenID](repeating: -1, count: n + 1)
        func offer(_ end: Int, _ start: Int, _ token: TokenID, _ score: Double) {
            let candidate = bestScore[start] + score
            if bestStart[end] < 0 || candidate > bestScore[end] {
                bestScore[end] = candidate
                bestStart[end] = start
                bestToken[end] = token
            }
        }
        for start in 0..<n {
            var node = 0
            var hasSingleCharacter = false
            var k = start
            while k < n, let child = nodes[node].children[text[k].value] {
                node = Int(child)
                k += 1
                let token = nodes[node].token
                if token >= 0 {
                    offer(k, start, token, scores[Int(token)])
                    if k == start + 1 { hasSingleCharacter = true }
                }
            }
            if !hasSingleCharacter { offer(start + 1, start, -1, unknownScore) }
        }

        // Back from the end: known tokens as they are, runs of unknown characters fused.
        var pieces: [(token: TokenID, range: Range<Int>)] = []
        var end = n
        while end > 0 {
            let start = bestStart[end]
            let token = bestToken[end]
            let isUnknown = token < 0 || token == unknownTokenId
            if isUnknown, let last = pieces.last, last.token < 0 {
                pieces[pieces.count - 1].range = start..<last.range.upperBound
            } else {
                pieces.append((isUnknown ? -1 : token, start..<end))
            }
            end = start
        }
        for piece in pieces.reversed() {
            if piece.token >= 0 {
                ids.append(piece.token)
                continue
            }
            scratch.bytes.removeAll(keepingCapacity: true)
            for scalar in text[piece.range] { UTF8Bytes.append(scalar, to: &scratch.bytes) }
            if let id = tokenToId[utf8: scratch.bytes] {
                ids.append(id)
                continue
            }
            if let byteTokens {
                if scratch.bytes.allSatisfy({ byteTokens[Int($0)] >= 0 }) {
                    for byte in scratch.bytes { ids.append(byteTokens[Int(byte)]) }
                    continue
                }
            }
            if let unknown = unknownTokenId { ids.append(unknown) }
        }
    }
}
