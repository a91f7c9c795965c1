// Added tokens found in text before pre-tokenization.

import Testing
import FloraTokenizer

@Suite("Special and added tokens")
struct SpecialTokenTests {
    static let added: [(String, Bool)] = [("<|im_start|>", true), ("<|im_end|>", true), ("<|im", true), ("<tool>", false)]

    func id(_ tokenizer: Tokenizer, _ token: String) -> TokenID { tokenizer.id(for: token) ?? -1 }
    func bytes(_ text: String) -> [TokenID] { text.utf8.map { TokenID($0) } }

    @Test("Special tokens in the text become single ids, the text between is encoded normally")
    func specialTokensInText() throws {
        let tokenizer = try TinyVocabulary.tokenizer(added: Self.added)
        let ids = tokenizer.encode("<|im_start|>user\nhi<|im_end|>")
        #expect(ids == [id(tokenizer, "<|im_start|>")] + bytes("user\nhi") + [id(tokenizer, "<|im_end|>")])
    }

    @Test("The longest token starting at a position wins")
    func longestMatch() throws {
        let tokenizer = try TinyVocabulary.tokenizer(added: Self.added)
        #expect(tokenizer.encode("<|im_start|>") == [id(tokenizer, "<|im_start|>")])
        #expect(tokenizer.encode("<|im_sta") == [id(tokenizer, "<|im")] + bytes("_sta"))
    }

    @Test("With parseSpecialTokens false, special tokens are plain text but other added tokens still match")
    func parseSpecialOff() throws {
        let tokenizer = try TinyVocabulary.tokenizer(added: Self.added)
        let text = "<|im_end|><tool>"
        #expect(tokenizer.encode(text, parseSpecialTokens: false) == bytes("<|im_end|>") + [id(tokenizer, "<tool>")])
        #expect(tokenizer.decode(tokenizer.encode(text, parseSpecialTokens: false)) == text)
    }

    @Test("Decoding can skip special tokens only")
    func skipSpecial() throws {
        let tokenizer = try TinyVocabulary.tokenizer(added: Self.added)
        let ids = tokenizer.encode("<|im_start|>a<tool>b<|im_end|>")
        #expect(tokenizer.decode(ids) == "<|im_start|>a<tool>b<|im_end|>")
        #expect(tokenizer.decode(ids, skipSpecialTokens: true) == "a<tool>b")
        #expect(tokenizer.isSpecial(id(tokenizer, "<|im_end|>")))
        #expect(!tokenizer.isSpecial(id(tokenizer, "<tool>")))
    }

    @Test("GGUF token types mark control and user-defined tokens")
    func ggufTokenTypes() throws {
        var spec = TinyVocabulary.spec()
        spec.tokens += ["<ctrl>", "<user>"]
        spec.tokenTypes = Array(repeating: 1, count: 256) + [3, 4]
        let tokenizer = try Tokenizer(spec)
        #expect(tokenizer.encode("x<ctrl><user>") == bytes("x") + [256, 257])
        #expect(tokenizer.encode("<ctrl><user>", parseSpecialTokens: false) == bytes("<ctrl>") + [257])
    }

    @Test("lstrip and rstrip swallow the whitespace around a token")
    func stripFlags() throws {
        var spec = TinyVocabulary.spec()
        spec.tokens.append("<mask>")
        spec.addedTokens = [AddedToken(content: "<mask>", id: 256, special: true, lstrip: true, rstrip: true)]
        let tokenizer = try Tokenizer(spec)
        #expect(tokenizer.encode("a  <mask>  b") == bytes("a") + [256] + bytes("b"))
    }

    @Test("BOS is added only when asked and the model wants it")
    func bos() throws {
        var spec = TinyVocabulary.spec(added: [("<s>", true)], bos: "<s>")
        let plain = try Tokenizer(spec)
        #expect(plain.encode("a", addSpecialTokens: true) == bytes("a"))
        spec.addBOS = true
        let tokenizer = try Tokenizer(spec)
        #expect(tokenizer.encode("a") == bytes("a"))
        #expect(tokenizer.encode("a", addSpecialTokens: true) == [256] + bytes("a"))
        #expect(tokenizer.encode("<s>a", addSpecialTokens: true) == [256] + bytes("a"))
    }
}
