// Merge order on tiny vocabularies, and the optimised merge paths against the plain loop.

import Testing
import FloraTensor
import FloraTokenizer

@Suite("Byte-pair merging")
struct BPETests {
    func pieces(_ tokenizer: Tokenizer, _ text: String) -> [String] {
        tokenizer.encode(text).map { tokenizer.token(for: $0) ?? "?" }
    }

    @Test("The lowest-ranked pair merges first, wherever it is")
    func rankOrder() throws {
        let tokenizer = try TinyVocabulary.tokenizer(merges: ["b c", "a b"])
        #expect(pieces(tokenizer, "abc") == ["a", "bc"])
        let other = try TinyVocabulary.tokenizer(merges: ["a b", "b c"])
        #expect(pieces(other, "abc") == ["ab", "c"])
    }

    @Test("Equal ranks merge leftmost first, one occurrence at a time")
    func leftmostTies() throws {
        let tokenizer = try TinyVocabulary.tokenizer(merges: ["a a"])
        #expect(pieces(tokenizer, "aaa") == ["aa", "a"])
        #expect(pieces(tokenizer, "aaaaa") == ["aa", "aa", "a"])
        let chained = try TinyVocabulary.tokenizer(merges: ["a a", "aa a"])
        #expect(pieces(chained, "aaa") == ["aaa"])
        #expect(pieces(chained, "aaaa") == ["aa", "aa"])
    }

    @Test("Merges never cross pre-tokenizer pieces")
    func piecesAreSeparate() throws {
        let tokenizer = try TinyVocabulary.tokenizer(merges: ["Ġ b", "a Ġ"])
        #expect(pieces(tokenizer, "a b") == ["a", "Ġb"])
    }

    @Test("Spaces are spelled with the byte-level alphabet")
    func byteLevelAlphabet() {
        #expect(ByteLevel.characters[0x20] == "Ġ")
        #expect(ByteLevel.characters[0x0A] == "Ċ")
        #expect(ByteLevel.characters[0x41] == "A")
        #expect(Set(ByteLevel.characters).count == 256)
        for byte in 0..<256 { #expect(ByteLevel.byte(for: ByteLevel.characters[byte]) == UInt8(byte)) }
        #expect(ByteLevel.bytes(ofToken: "ĠhelloĊ") == Array(" hello\n".utf8))
    }

    @Test("Heap and scan merging agree with the plain loop on random words", arguments: [3, 40, 127, 129, 300, 1000])
    func optimisedMatchesReference(length: Int) {
        var rng = SeededGenerator(seed: UInt64(length))
        // Rules over a 4-letter alphabet (ids 0…3), each merged token a new id.
        var rules: [(left: TokenID, right: TokenID, merged: TokenID)] = []
        var next: TokenID = 4
        for _ in 0..<60 {
            rules.append((TokenID(rng.next() % UInt64(next)), TokenID(rng.next() % UInt64(next)), next))
            next += 1
        }
        let merges = BPEMerges(rules: rules)
        for _ in 0..<20 {
            let word = (0..<length).map { _ in TokenID(rng.next() % 4) }
            #expect(merges.merge(word) == merges.mergeReference(word))
        }
    }

    @Test("A merge whose parts or result are missing from the vocabulary is refused")
    func badMerge() {
        #expect {
            try TinyVocabulary.tokenizer(merges: ["a b", "ab zz"])
        } throws: { error in
            "\(error)".contains("merges[1]") && "\(error)".contains("zz")
        }
        #expect(throws: TokenizerError.self) {
            try Tokenizer(TokenizerSpec(tokens: ["a", "b"], merges: []))
        }
    }

    @Test("GGUF construction refuses what it does not implement, naming it")
    func unsupportedGGUF() {
        let tokens = (0..<256).map { String(ByteLevel.characters[$0]) }
        let build = { (model: String, pre: String?, merges: [String]?, types: [Int]?) in
            try Tokenizer(gguf: GGUFTokenizerMetadata(source: "m.gguf", model: model, pre: pre, tokens: tokens, tokenTypes: types, merges: merges))
        }
        #expect { try build("bert", nil, [], nil) } throws: { "\($0)".contains("\"bert\"") && "\($0)".contains("m.gguf") }
        #expect { try build("gpt2", "mystery", [], nil) } throws: { "\($0)".contains("mystery") }
        #expect { try build("gpt2", nil, nil, nil) } throws: { "\($0)".contains("tokenizer.ggml.merges") }
        #expect { try build("gpt2", nil, [], [1, 1]) } throws: { "\($0)".contains("token_type") }
        #expect(throws: Never.self) { try build("gpt2", "smollm", [], nil) }
    }
}
