// A tokenizer model Flora does not read, and a SentencePiece vocabulary that is malformed, are
// refused with an error naming the file, the item, what was expected and what was found.

import Foundation
import Testing
import FloraTokenizer

@Suite("Unsupported and malformed vocabularies")
struct MalformedVocabularyTests {
    static func metadata() throws -> GGUFTokenizerMetadata { try SentencePieceFixtures.ggufMetadata.get() }

    static func refusal(_ change: (inout GGUFTokenizerMetadata) -> Void) throws -> String {
        var metadata = try metadata()
        change(&metadata)
        do {
            _ = try Tokenizer(gguf: metadata)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    @Test("A tokenizer.ggml.model Flora does not read names the file, the key, the value and what Flora reads",
          arguments: ["t5", "bert", "rwkv", "none", ""])
    func unsupportedModel(_ model: String) throws {
        let message = try Self.refusal { $0.model = model }
        #expect(message.hasPrefix(SentencePieceFixtures.directory + "/sentencepiece-bpe.gguf: "))
        #expect(message.contains("tokenizer.ggml.model is \"\(model)\""))
        #expect(message.contains("\"gpt2\"") && message.contains("\"llama\""))
    }

    @Test("A malformed SentencePiece vocabulary is refused, naming what is wrong", arguments: [
        ("missing tokenizer field tokenizer.ggml.scores", { @Sendable (m: inout GGUFTokenizerMetadata) in m.scores = nil }),
        ("tokenizer.ggml.scores: expected 1500 entries (one per token), found 1499", { m in m.scores?.removeLast() }),
        ("scores[7]: expected a finite number, found nan", { m in m.scores?[7] = .nan }),
        ("token_type: expected 1500 entries (one per token), found 3", { m in m.tokenTypes = [1, 1, 1] }),
        ("token_type[9]: expected 1…6, found 0", { m in m.tokenTypes?[9] = 0 }),
        ("bos_token_id: expected a token id in 0..<1500, found 1500", { m in m.bosTokenId = 1500 }),
        ("tokenizer.ggml.eos_token_id: expected a token id below 2^31, found 4294967296", { m in m.eosTokenId = 1 << 32 }),
        ("tokens: expected a non-empty vocabulary, found 0 tokens", { m in m.tokens = []; m.scores = []; m.tokenTypes = [] }),
    ] as [(String, @Sendable (inout GGUFTokenizerMetadata) -> Void)])
    func malformed(_ fragment: String, _ change: @Sendable (inout GGUFTokenizerMetadata) -> Void) throws {
        let message = try Self.refusal(change)
        #expect(message.contains(fragment), "\(message)")
        #expect(message.hasPrefix(SentencePieceFixtures.directory + "/sentencepiece-bpe.gguf: "))
    }

    @Test("A tokenizer.json whose model or vocabulary Flora cannot read names the file and the field")
    func malformedJSON() throws {
        func refusal(_ object: [String: Any]) -> String {
            do {
                _ = try Tokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: object), tokenizerConfigJSON: nil,
                                  source: "m/tokenizer.json")
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(refusal(["model": ["type": "WordPiece", "vocab": ["a": 0]]]) .contains("m/tokenizer.json: unsupported tokenizer configuration: model.type is \"WordPiece\""))
        #expect(refusal(["model": ["type": "Unigram"]]).contains("missing tokenizer field model.vocab"))
        #expect(refusal(["model": ["type": "Unigram", "vocab": [["a", 0.0]], "unk_id": 3], "decoder": ["type": "Metaspace"]])
                    .contains("model.unk_id: expected a token id in 0..<1, found 3"))
        #expect(refusal(["model": ["type": "BPE", "vocab": ["a": 0, "b": 1], "merges": ["a b"]], "decoder": ["type": "Metaspace"]])
                    .contains("merges[0]: expected the merged token \"ab\" in the vocabulary"))
        #expect(refusal(["model": ["type": "BPE", "vocab": ["a": -1]]]).contains("model.vocab: expected token ids in 0..<2^24"))
    }
}
