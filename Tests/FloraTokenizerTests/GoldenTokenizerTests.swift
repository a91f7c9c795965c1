// The reference cases of Tests/Fixtures/golden/tokenizer.json (Hugging Face transformers on the same
// GGUF), with the real SmolLM2 vocabulary read through FloraFormats' GGUF reader.

import Foundation
import Testing
import FloraTokenizer

@Suite("SmolLM2 tokenizer against the golden reference")
struct GoldenTokenizerTests {
    @Test("The GGUF metadata gives the vocabulary and special tokens the reference describes")
    func vocabularyAndSpecialTokens() throws {
        let tokenizer = try TestResources.smolLM.get()
        let golden = try TestResources.golden.get()
        #expect(tokenizer.vocabularySize == golden.vocab_size)
        #expect(tokenizer.bosTokenId == golden.special_tokens.bos_id)
        #expect(tokenizer.eosTokenId == golden.special_tokens.eos_id)
        #expect(tokenizer.token(for: golden.special_tokens.bos_id) == golden.special_tokens.bos)
        #expect(tokenizer.token(for: golden.special_tokens.eos_id) == golden.special_tokens.eos)
        #expect(tokenizer.preTokenizer == .smolLM)
        #expect(!tokenizer.addBOS)
        #expect(tokenizer.stopTokenIds.contains(2))
        #expect(tokenizer.stopTokenIds.contains(0))  // <|endoftext|>
        #expect(!tokenizer.stopTokenIds.contains(1))
    }

    @Test("Encoding gives the reference ids and tokens", arguments: TestResources.goldenCases)
    func encodesLikeTheReference(_ golden: TestResources.GoldenCase) throws {
        let tokenizer = try TestResources.smolLM.get()
        let ids = tokenizer.encode(golden.text)
        #expect(ids == golden.ids)
        #expect(ids.map { tokenizer.token(for: $0) ?? "?" } == golden.tokens)
    }

    @Test("Decoding the reference ids gives the reference text", arguments: TestResources.goldenCases)
    func decodesLikeTheReference(_ golden: TestResources.GoldenCase) throws {
        let tokenizer = try TestResources.smolLM.get()
        #expect(tokenizer.decode(golden.ids) == golden.decoded)
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        let streamed = golden.ids.map { stream.append($0) }.joined() + stream.finish()
        #expect(streamed == golden.decoded)
    }

    @Test("The same vocabulary loaded from a tokenizer.json gives the reference ids", arguments: TestResources.goldenCases)
    func tokenizerJSONPathMatches(_ golden: TestResources.GoldenCase) throws {
        let tokenizer = try SmolLMAsTokenizerJSON.tokenizer.get()
        #expect(tokenizer.encode(golden.text) == golden.ids)
        #expect(tokenizer.decode(golden.ids) == golden.decoded)
    }

    @Test("SmolLM2's own chat template renders the reference ChatML prompt")
    func chatTemplateMatchesReferencePrompt() throws {
        let tokenizer = try TestResources.smolLM.get()
        let golden = try TestResources.golden.get()
        let expected = try #require(golden.cases.last?.text)
        #expect(expected.hasPrefix("<|im_start|>system\n"))
        let withDefaultSystem = try tokenizer.applyChatTemplate(
            messages: [ChatMessage(role: "user", content: "What is 2+2?")], addGenerationPrompt: true)
        #expect(withDefaultSystem == expected)
        let withSystem = try tokenizer.applyChatTemplate(
            messages: [ChatMessage(role: "system", content: "You are a helpful AI assistant named SmolLM, trained by Hugging Face"),
                       ChatMessage(role: "user", content: "What is 2+2?")],
            addGenerationPrompt: true)
        #expect(withSystem == expected)
        #expect(tokenizer.encode(withSystem) == golden.cases.last?.ids)
        #expect(try tokenizer.encodeChat(messages: [ChatMessage(role: "user", content: "What is 2+2?")], addGenerationPrompt: true)
                == golden.cases.last?.ids)
        let custom = try tokenizer.applyChatTemplate(
            messages: [ChatMessage(role: "system", content: "Be brief."), ChatMessage(role: "user", content: "Hi")],
            addGenerationPrompt: false)
        #expect(custom == "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n")
    }

    @Test("Without digit splitting the numbers case would differ, so the pre-tokenizer matters")
    func digitSplittingIsObservable() throws {
        let plainGPT2 = try TestResources.smolLMMetadata.get().tokenizer(pre: "gpt2")
        let smolLM = try TestResources.smolLM.get()
        // "x  1": SmolLM pieces "x", "  ", "1"; GPT-2 pieces "x", " ", " 1".
        let text = "x  1"
        #expect(smolLM.encode(text).map { smolLM.token(for: $0) } == ["x", "ĠĠ", "1"])
        #expect(plainGPT2.encode(text).map { plainGPT2.token(for: $0) } == ["x", "Ġ", "Ġ", "1"])
        #expect(plainGPT2.decode(plainGPT2.encode(text)) == text)
    }
}

/// The SmolLM2 vocabulary re-serialised as a Hugging Face tokenizer.json (its published
/// pre-tokenizer: Digits(individual) then ByteLevel), to test the tokenizer.json path on real data.
enum SmolLMAsTokenizerJSON {
    static let tokenizer: Result<Tokenizer, any Error> = Result {
        let metadata = try TestResources.smolLMMetadata.get()
        var vocab: [String: Int] = [:]
        for (id, token) in metadata.tokens.enumerated() { vocab[token] = id }
        let added: [[String: Any]] = (0..<17).map {
            ["id": $0, "content": metadata.tokens[$0], "single_word": false, "lstrip": false, "rstrip": false,
             "normalized": false, "special": true]
        }
        let json: [String: Any] = [
            "version": "1.0",
            "added_tokens": added,
            "normalizer": NSNull(),
            "pre_tokenizer": ["type": "Sequence", "pretokenizers": [
                ["type": "Digits", "individual_digits": true],
                ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true],
            ]],
            "post_processor": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true],
            "decoder": ["type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true],
            "model": ["type": "BPE", "dropout": NSNull(), "unk_token": "<|endoftext|>", "continuing_subword_prefix": NSNull(),
                      "end_of_word_suffix": NSNull(), "fuse_unk": false, "byte_fallback": false,
                      "vocab": vocab, "merges": (metadata.merges ?? []).map { $0.split(separator: " ").map(String.init) }],
        ]
        let config: [String: Any] = [
            "bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "pad_token": "<|im_end|>", "unk_token": "<|endoftext|>",
            "chat_template": metadata.chatTemplate ?? "",
        ]
        return try Tokenizer(tokenizerJSON: JSONSerialization.data(withJSONObject: json),
                             tokenizerConfigJSON: JSONSerialization.data(withJSONObject: config))
    }
}
