// Added tokens (Hugging Face `added_tokens`; GGUF token types 3 control, 4 user-defined and
// 2 unknown) are found in the raw text before pre-tokenization: at the leftmost position where
// any of them starts, the longest one wins (Hugging Face's leftmost-longest matching).
// Special tokens are only recognised when the caller asks for it; the others always are, as in
// Hugging Face `tokenizers` and llama.cpp.

/// A token matched whole in the text rather than built by merges.
public struct AddedToken: Sendable, Equatable {
    public var content: String
    public var id: TokenID
    /// Control tokens (`<|im_start|>` …): parsed only when asked, skippable when decoding.
    public var special: Bool
    /// Hugging Face flags: swallow the whitespace on the left / right of the token; match only
    /// when not inside a word.
    public var lstrip: Bool
    public var rstrip: Bool
    public var singleWord: Bool

    public init(content: String, id: TokenID, special: Bool, lstrip: Bool = false, rstrip: Bool = false, singleWord: Bool = false) {
        self.content = content
        self.id = id
        self.special = special
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.singleWord = singleWord
    }
}

/// A piece of the text: plain text to pre-tokenize, or one added token.
enum TextSegment {
    case text(Range<Int>)
    case token(TokenID)
}

/// A trie over the Unicode scalars of the added tokens.
struct AddedTokenMatcher: Sendable {
    private struct Node: Sendable {
        var children: [UInt32: Int32] = [:]
        /// Index into `tokens` of the token that ends here, or -1.
        var token: Int32 = -1
    }

    let tokens: [AddedToken]
    private var nodes: [Node] = [Node()]
    /// Child of the root for each ASCII scalar (-1: none): most text starts no token, and this
    /// keeps the scan over it to one array load per character.
    private var rootASCII = [Int32](repeating: -1, count: 128)

    init(_ tokens: [AddedToken]) {
        self.tokens = tokens
        for (index, token) in tokens.enumerated() where !token.content.isEmpty {
            var node = 0
            for scalar in token.content.unicodeScalars {
                if let child = nodes[node].children[scalar.value] {
                    node = Int(child)
                } else {
                    nodes.append(Node())
                    nodes[node].children[scalar.value] = Int32(nodes.count - 1)
                    node = nodes.count - 1
                }
            }
            // Two added tokens with one text: the first listed keeps it.
            if nodes[node].token < 0 { nodes[node].token = Int32(index) }
        }
        for (value, child) in nodes[0].children where value < 128 { rootASCII[Int(value)] = child }
    }

    var isEmpty: Bool { nodes.count == 1 }

    /// Cuts `text` into plain-text ranges and added tokens, in order.
    func split(_ text: ClassifiedText, parseSpecial: Bool, _ body: (TextSegment) -> Void) {
        let scalars = text.scalars
        let n = scalars.count
        if isEmpty { if n > 0 { body(.text(0..<n)) }; return }
        var textStart = 0
        var i = 0
        while i < n {
            let value = scalars[i].value
            let first = value < 128 ? rootASCII[Int(value)] : (nodes[0].children[value] ?? -1)
            if first < 0 { i += 1; continue }
            // Longest allowed token starting at i.
            var node = Int(first)
            var k = i + 1
            var best: (token: AddedToken, end: Int)? = nil
            while true {
                let index = nodes[node].token
                if index >= 0, parseSpecial || !tokens[Int(index)].special { best = (tokens[Int(index)], k) }
                guard k < n, let child = nodes[node].children[scalars[k].value] else { break }
                node = Int(child)
                k += 1
            }
            guard let (token, end) = best, !token.singleWord || isWordBoundary(scalars, i, end) else { i += 1; continue }
            var matchStart = i
            var matchEnd = end
            if token.lstrip {
                while matchStart > textStart, text.classes[matchStart - 1] & CharClass.whitespace != 0 { matchStart -= 1 }
            }
            if token.rstrip {
                while matchEnd < n, text.classes[matchEnd] & CharClass.whitespace != 0 { matchEnd += 1 }
            }
            if matchStart > textStart { body(.text(textStart..<matchStart)) }
            body(.token(token.id))
            textStart = matchEnd
            i = matchEnd
        }
        if textStart < n { body(.text(textStart..<n)) }
    }

    /// Hugging Face's `single_word`: no word character (alphanumeric or `_`) touches the match.
    private func isWordBoundary(_ scalars: [Unicode.Scalar], _ start: Int, _ end: Int) -> Bool {
        func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
            scalar == "_" || CharClass.of(scalar) & (CharClass.letter | CharClass.number) != 0
        }
        if start > 0, isWordCharacter(scalars[start - 1]) { return false }
        if end < scalars.count, isWordCharacter(scalars[end]) { return false }
        return true
    }
}
