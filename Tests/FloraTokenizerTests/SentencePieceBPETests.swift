// SentencePiece BPE on small hand-made vocabularies, against a plain-loop reference of
// sentencepiece's algorithm (bpe_model.cc) written over strings.

import Testing
import FloraTensor
import FloraTokenizer

@Suite("SentencePiece BPE")
struct SentencePieceBPETests {
    /// A vocabulary: `<unk>`, `<s>`, `</s>`, then the 256 byte tokens (if `bytes`), then `pieces`.
    struct Vocabulary {
        var tokens = ["<unk>", "<s>", "</s>"]
        var scores: [Double] = [0, 0, 0]
        var types: [TokenType] = [.unknown, .control, .control]

        init(bytes: Bool = true, _ pieces: [(String, Double, TokenType)]) {
            if bytes {
                for byte in 0..<256 {
                    tokens.append("<0x" + String(byte, radix: 16, uppercase: true).leftPadded(2) + ">")
                    scores.append(0)
                    types.append(.byte)
                }
            }
            for (piece, score, type) in pieces {
                tokens.append(piece)
                scores.append(score)
                types.append(type)
            }
        }

        func tokenizer(decoder: SentencePieceDecoding = SentencePieceDecoding(stripLeadingSpaces: 0)) throws -> Tokenizer {
            try Tokenizer(TokenizerSpec(
                tokens: tokens, model: .sentencePieceBPE, scores: scores, tokenTypes: types.map(\.rawValue),
                preTokenizer: PreTokenizer(steps: []), decoder: .sentencePiece(decoder), byteFallback: true,
                bosTokenId: 1, eosTokenId: 2, unknownTokenId: 0))
        }

        func id(_ piece: String) -> TokenID { TokenID(tokens.firstIndex { $0.utf8.elementsEqual(piece.utf8) }!) }

        /// sentencepiece's algorithm as a plain loop over strings: merge the adjacent pair whose
        /// concatenation is the highest-scoring mergeable piece (leftmost on a tie) until none is
        /// left; split unused pieces back into the two symbols they were made of; spell characters
        /// without a token as byte tokens (or one unknown token per run).
        func reference(_ text: String) -> [TokenID] {
            indirect enum Symbol {
                case character(Unicode.Scalar)
                case merged(Symbol, Symbol)
                var text: String {
                    switch self {
                    case .character(let c): String(c)
                    case .merged(let a, let b): a.text + b.text
                    }
                }
            }
            func piece(_ text: String) -> Int? { tokens.firstIndex { $0.utf8.elementsEqual(text.utf8) } }
            var symbols = text.unicodeScalars.map { Symbol.character($0) }
            while symbols.count > 1 {
                var best: (score: Double, index: Int)? = nil
                for i in 0..<(symbols.count - 1) {
                    guard let p = piece(symbols[i].text + symbols[i + 1].text), [.normal, .userDefined, .unused].contains(types[p]) else { continue }
                    if best == nil || scores[p] > best!.score { best = (scores[p], i) }
                }
                guard let best else { break }
                symbols[best.index] = .merged(symbols[best.index], symbols[best.index + 1])
                symbols.remove(at: best.index + 1)
            }
            var ids: [TokenID] = []
            var previousUnknown = false
            func emit(_ symbol: Symbol) {
                if let p = piece(symbol.text) {
                    if types[p] == .unused, case .merged(let a, let b) = symbol { emit(a); emit(b); return }
                    ids.append(TokenID(p))
                    previousUnknown = false
                    return
                }
                let bytes = Array(symbol.text.utf8)
                let byteIds = bytes.compactMap { piece("<0x" + String($0, radix: 16, uppercase: true).leftPadded(2) + ">") }
                if byteIds.count == bytes.count {
                    ids += byteIds.map { TokenID($0) }
                    previousUnknown = false
                } else {
                    if !previousUnknown { ids.append(0) }
                    previousUnknown = true
                }
            }
            for symbol in symbols { emit(symbol) }
            return ids
        }
    }

    @Test("The pair making the highest-scoring piece merges first; on equal scores the leftmost")
    func scoreOrder() throws {
        let higherRight = Vocabulary([("a", -1, .normal), ("b", -1, .normal), ("c", -1, .normal), ("ab", -5, .normal), ("bc", -2, .normal)])
        #expect(try higherRight.tokenizer().encode("abc") == [higherRight.id("a"), higherRight.id("bc")])
        let tie = Vocabulary([("a", -1, .normal), ("b", -1, .normal), ("c", -1, .normal), ("ab", -3, .normal), ("bc", -3, .normal)])
        #expect(try tie.tokenizer().encode("abc") == [tie.id("ab"), tie.id("c")])
        // Not the order of the ids: a lower id with a lower score waits.
        let byScore = Vocabulary([("a", -1, .normal), ("b", -1, .normal), ("c", -1, .normal), ("bc", -9, .normal), ("ab", -2, .normal)])
        #expect(try byScore.tokenizer().encode("abc") == [byScore.id("ab"), byScore.id("c")])
    }

    @Test("An unused piece is split back into the two pieces it was merged from")
    func unusedPieces() throws {
        let v = Vocabulary([("a", -1, .normal), ("b", -1, .normal), ("c", -1, .normal), ("ab", -2, .normal),
                            ("abc", -3, .unused), ("abca", -4, .normal)])
        let tokenizer = try v.tokenizer()
        #expect(tokenizer.encode("abc") == [v.id("ab"), v.id("c")])
        // Merged through the unused piece: kept.
        #expect(tokenizer.encode("abca") == [v.id("abca")])
        #expect(tokenizer.encode("abcabc") == v.reference("abcabc"))
    }

    @Test("A character that is no token still merges into a piece that starts with it")
    func characterWithoutToken() throws {
        let v = Vocabulary([("a", -1, .normal), ("xa", -2, .normal)])
        let tokenizer = try v.tokenizer()
        #expect(tokenizer.encode("xa") == [v.id("xa")])
        #expect(tokenizer.encode("ax") == [v.id("a"), v.id("<0x78>")])
    }

    @Test("Characters the vocabulary lacks become their bytes, or one unknown token per run without byte tokens")
    func unknownCharacters() throws {
        let withBytes = Vocabulary([("a", -1, .normal)])
        #expect(try withBytes.tokenizer().encode("a€") == [withBytes.id("a"), withBytes.id("<0xE2>"), withBytes.id("<0x82>"), withBytes.id("<0xAC>")])
        let withoutBytes = Vocabulary(bytes: false, [("a", -1, .normal)])
        #expect(try withoutBytes.tokenizer().encode("€€a€") == [0, withoutBytes.id("a"), 0])
    }

    @Test("Canonically equivalent spellings stay distinct tokens, as they are distinct bytes")
    func canonicalEquivalents() throws {
        let v = Vocabulary([("e", -1, .normal), ("\u{301}", -1, .normal), ("\u{E9}", -1, .normal), ("e\u{301}", -2, .normal), ("x", -1, .normal),
                            ("x\u{E9}", -3, .normal)])
        let tokenizer = try v.tokenizer()
        #expect(tokenizer.encode("e\u{301}") == [v.id("e\u{301}")])
        #expect(tokenizer.encode("\u{E9}") == [v.id("\u{E9}")])
        #expect(tokenizer.encode("xe\u{301}") == [v.id("x"), v.id("e\u{301}")])
        #expect(tokenizer.encode("x\u{E9}") == [v.id("x\u{E9}")])
        #expect(tokenizer.id(for: "e\u{301}") != tokenizer.id(for: "\u{E9}"))
    }

    @Test("Random vocabularies and strings encode as the plain-loop reference does", arguments: [1, 2, 3, 4, 5] as [UInt64])
    func randomAgainstReference(seed: UInt64) throws {
        var rng = SeededGenerator(seed: seed)
        // "d" and "é" are no tokens of their own; "z" and "€" appear in no piece at all.
        let alphabet: [String] = ["a", "b", "c", "d", "é", "▁"]
        var pieces: [(String, Double, TokenType)] = ["a", "b", "c", "▁"].map { ($0, -1, .normal) }
        var seen = Set(pieces.map(\.0))
        while pieces.count < 40 {
            let length = 2 + Int(rng.next() % 3)
            let piece = (0..<length).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }.joined()
            guard seen.insert(piece).inserted else { continue }
            let score = -Double(rng.next() % 12) / 2   // ties on purpose
            let type: TokenType = rng.next() % 6 == 0 ? .unused : .normal
            pieces.append((piece, score, type))
        }
        let v = Vocabulary(pieces)
        let tokenizer = try v.tokenizer()
        let letters = alphabet + ["z", "€"]
        for _ in 0..<300 {
            let text = (0..<Int(rng.next() % 14)).map { _ in letters[Int(rng.next() % UInt64(letters.count))] }.joined()
            #expect(tokenizer.encode(text) == v.reference(text), "\(text.debugDescription)")
        }
        // Long enough for the merge heap.
        let long = (0..<600).map { _ in letters[Int(rng.next() % UInt64(letters.count))] }.joined()
        #expect(tokenizer.encode(long) == v.reference(long))
    }

    @Test("Byte tokens decode one character at a time; bytes that form none become U+FFFD each, also when streamed",
          arguments: [[0xE6, 0x97, 0xA5], [0xE6, 0x97], [0xE6, 0x41], [0x41, 0xE6], [0xF0, 0x9F, 0xA4, 0x97, 0x80], [0xED, 0xA0, 0x80],
                      [0xC3], [0xFF, 0xC3, 0xA9]] as [[UInt8]])
    func byteFallbackDecoding(_ bytes: [UInt8]) throws {
        let v = Vocabulary([("a", -1, .normal)])
        let tokenizer = try v.tokenizer()
        let ids = bytes.map { TokenID(3 + Int($0)) } + [v.id("a")]
        let expected = Self.sentencePieceDecode(bytes) + "a"
        #expect(tokenizer.decode(ids) == expected)
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        #expect(ids.map { stream.append($0) }.joined() + stream.finish() == expected)
    }

    /// sentencepiece's rule for a run of byte pieces (ProcessBytePieces), written plainly.
    static func sentencePieceDecode(_ bytes: [UInt8]) -> String {
        var text = ""
        var i = 0
        while i < bytes.count {
            var matched = false
            for length in [4, 3, 2, 1] where i + length <= bytes.count {
                let candidate = Array(bytes[i..<(i + length)])
                if let s = String(validating: candidate, as: UTF8.self), s.unicodeScalars.count == 1 {
                    text += s
                    i += length
                    matched = true
                    break
                }
            }
            if !matched {
                text += "\u{FFFD}"
                i += 1
            }
        }
        return text
    }

    @Test("The leading space is dropped once, at the start of the text, also when streamed")
    func leadingSpace() throws {
        let v = Vocabulary([("▁", -1, .normal), ("a", -1, .normal), ("▁a", -2, .normal)])
        let tokenizer = try v.tokenizer(decoder: .llama)
        let ids = [v.id("▁"), v.id("▁a"), v.id("▁a")]
        #expect(tokenizer.decode(ids) == " a a")
        #expect(tokenizer.decode([1, v.id("▁a")], skipSpecialTokens: true) == "a")
        #expect(tokenizer.decode([1, v.id("▁a")]) == "<s> a")
        #expect(tokenizer.decode([v.id("<0x20>"), v.id("a")]) == "a")
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        #expect(ids.map { stream.append($0) } == ["", " a", " a"])
        // Generated text continues its prompt: nothing is stripped.
        #expect(tokenizer.decode([v.id("▁a")], continuesText: true) == " a")
        var continuing = StreamingDetokenizer(tokenizer: tokenizer, skipSpecialTokens: true, continuesText: true)
        #expect(ids.map { continuing.append($0) } == [" ", " a", " a"])
        // The Metaspace decoder drops every "▁" of the first token instead.
        let metaspace = try v.tokenizer(decoder: SentencePieceDecoding(stripLeadingSpaces: 0, dropReplacementInFirstToken: true))
        #expect(metaspace.decode(ids) == " a a")
        #expect(metaspace.decode([v.id("▁a"), v.id("▁a")]) == "a a")
        #expect(metaspace.decode([v.id("▁a"), v.id("▁a")], continuesText: true) == " a a")
    }

    @Test("An emoji spelled in byte tokens is held back until its last byte")
    func streamingHoldsBytes() throws {
        let v = Vocabulary([("a", -1, .normal)])
        let tokenizer = try v.tokenizer()
        let ids = tokenizer.encode("a🤗a")
        #expect(ids.count == 6)
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        #expect(ids.map { stream.append($0) } == ["a", "", "", "", "🤗", "a"])
        #expect(!stream.hasPendingBytes)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
