// tokenizer.json and tokenizer_config.json reading on small hand-written files.

import Foundation
import Testing
import FloraTokenizer

@Suite("Hugging Face tokenizer.json")
struct HuggingFaceJSONTests {
    /// A byte-level vocabulary (id = byte) with a few merges, as a tokenizer.json object.
    static func file(preTokenizer: Any, normalizer: Any = NSNull(), decoder: Any = ["type": "ByteLevel"],
                     postProcessor: Any = NSNull(), model: [String: Any] = [:],
                     added: [[String: Any]] = []) -> Data {
        var vocab: [String: Int] = [:]
        for byte in 0..<256 { vocab[String(ByteLevel.characters[byte])] = byte }
        vocab["he"] = 256
        vocab["ll"] = 257
        vocab["hell"] = 258
        vocab["Ġhell"] = 259
        var modelObject: [String: Any] = ["type": "BPE", "vocab": vocab, "merges": ["h e", ["l", "l"], "he ll", "Ġ hell"]]
        modelObject.merge(model) { $1 }
        let object: [String: Any] = ["added_tokens": added, "normalizer": normalizer, "pre_tokenizer": preTokenizer,
                                     "post_processor": postProcessor, "decoder": decoder, "model": modelObject]
        return try! JSONSerialization.data(withJSONObject: object)
    }

    static func tokenizer(_ file: Data, config: [String: Any]? = nil) throws -> Tokenizer {
        try Tokenizer(tokenizerJSON: file,
                      tokenizerConfigJSON: config.map { try JSONSerialization.data(withJSONObject: $0) })
    }

    static var byteLevel: [String: Any] { ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true] }

    @Test("Merges written as strings or as pairs, added tokens with their flags, config tokens")
    func basicFile() throws {
        let added: [[String: Any]] = [
            ["id": 300, "content": "<|begin|>", "special": true, "lstrip": false, "rstrip": false, "single_word": false, "normalized": false],
            ["id": 301, "content": "<|end|>", "special": true],
        ]
        let config: [String: Any] = ["bos_token": ["content": "<|begin|>", "lstrip": false], "eos_token": "<|end|>",
                                     "chat_template": [["name": "default", "template": "{{ bos_token }}{{ messages[0].content }}"],
                                                       ["name": "tool_use", "template": "tools"]]]
        let tokenizer = try Self.tokenizer(Self.file(preTokenizer: Self.byteLevel, added: added), config: config)
        #expect(tokenizer.vocabularySize == 302)
        #expect(tokenizer.encode("hello hell") == [258, TokenID(UInt8(ascii: "o")), 259])
        #expect(tokenizer.bosTokenId == 300)
        #expect(tokenizer.eosTokenId == 301)
        #expect(tokenizer.stopTokenIds.contains(301))
        #expect(tokenizer.encode("<|begin|>hell<|end|>") == [300, 258, 301])
        #expect(try tokenizer.applyChatTemplate(messages: [ChatMessage(role: "user", content: "x")], addGenerationPrompt: false) == "<|begin|>x")
    }

    @Test("Llama 3 style: Split with the Llama 3 regex, ByteLevel without regex, ignore_merges, BOS from the post-processor")
    func llama3Style() throws {
        let pre: [String: Any] = ["type": "Sequence", "pretokenizers": [
            ["type": "Split", "pattern": ["Regex": SplitPattern.llama3.regex], "behavior": "Isolated", "invert": false],
            ["type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false],
        ]]
        let post: [String: Any] = ["type": "TemplateProcessing", "single": [
            ["SpecialToken": ["id": "<|begin_of_text|>", "type_id": 0]], ["Sequence": ["id": "A", "type_id": 0]],
        ]]
        let added: [[String: Any]] = [["id": 300, "content": "<|begin_of_text|>", "special": true]]
        let tokenizer = try Self.tokenizer(Self.file(preTokenizer: pre, postProcessor: post, model: ["ignore_merges": true], added: added))
        #expect(tokenizer.preTokenizer == .llama3)
        #expect(tokenizer.ignoreMerges)
        #expect(tokenizer.addBOS)
        #expect(tokenizer.bosTokenId == 300)
        #expect(tokenizer.encode("1234 hell", addSpecialTokens: true) == [300] + Array("1234".utf8).map(TokenID.init) + [259])
    }

    @Test("An NFC normalizer composes text before encoding")
    func nfc() throws {
        let tokenizer = try Self.tokenizer(Self.file(preTokenizer: Self.byteLevel, normalizer: ["type": "NFC"]))
        #expect(tokenizer.normalizer == .nfc)
        #expect(tokenizer.encode("e\u{301}") == Array("é".utf8).map(TokenID.init))
    }

    static var llamaDecoder: [String: Any] { ["type": "Sequence", "decoders": [
        ["type": "Replace", "pattern": ["String": "▁"], "content": " "], ["type": "ByteFallback"], ["type": "Fuse"],
        ["type": "Strip", "content": " ", "start": 1, "stop": 0],
    ]] }

    @Test("Configurations Flora does not implement are refused, naming the file, the field and what was found", arguments: [
        ("decoder is ByteLevel", file(preTokenizer: ["type": "Metaspace", "replacement": "▁"])),
        ("WordPiece", file(preTokenizer: byteLevel, model: ["type": "WordPiece"])),
        ("\\p{N}+", file(preTokenizer: ["type": "Sequence", "pretokenizers": [
            ["type": "Split", "pattern": ["Regex": "\\p{N}+|[a-z]+"], "behavior": "Isolated"], byteLevel]])),
        ("Lowercase", file(preTokenizer: byteLevel, normalizer: ["type": "Lowercase"])),
        ("ByteFallback", file(preTokenizer: byteLevel, decoder: ["type": "Sequence", "decoders": [["type": "ByteFallback"]]])),
        ("add_prefix_space", file(preTokenizer: ["type": "ByteLevel", "add_prefix_space": true])),
        ("decoder is ByteLevel", file(preTokenizer: ["type": "Digits", "individual_digits": true])),
        ("before Fuse", file(preTokenizer: NSNull(), decoder: ["type": "Sequence", "decoders": [
            ["type": "Replace", "pattern": ["String": "▁"], "content": " "], ["type": "Strip", "content": " ", "start": 1, "stop": 0]]])),
        ("joined with spaces", file(preTokenizer: NSNull(), decoder: NSNull())),
        ("Regex", file(preTokenizer: NSNull(), normalizer: ["type": "Replace", "pattern": ["Regex": " {2,}"], "content": " "], decoder: llamaDecoder)),
        ("Precompiled", file(preTokenizer: NSNull(), normalizer: ["type": "Sequence", "normalizers": [["type": "Precompiled"]]], decoder: llamaDecoder)),
        ("Digits, Metaspace", file(preTokenizer: ["type": "Sequence", "pretokenizers": [
            ["type": "Digits", "individual_digits": true], ["type": "Metaspace", "replacement": "▁", "prepend_scheme": "first"]]],
                                   decoder: llamaDecoder)),
        ("dropout", file(preTokenizer: NSNull(), decoder: llamaDecoder, model: ["dropout": 0.1])),
        ("pre_tokenizer is Metaspace", file(preTokenizer: NSNull(), decoder: llamaDecoder).replacingByteLevelPreTokenizer()),
    ] as [(String, Data)])
    func unsupported(_ fragment: String, _ file: Data) {
        #expect {
            try Tokenizer(tokenizerJSON: file, tokenizerConfigJSON: nil, source: "models/x/tokenizer.json")
        } throws: { error in
            "\(error)".hasPrefix("models/x/tokenizer.json: ") && "\(error)".contains(fragment)
        }
    }

    @Test("A file that is not JSON is refused with a clear error")
    func notJSON() {
        #expect {
            try Tokenizer(tokenizerJSON: Data("not json".utf8), tokenizerConfigJSON: nil)
        } throws: { error in
            "\(error)".contains("tokenizer.json")
        }
    }
}

private extension Data {
    /// A file whose pre-tokenizer mixes Metaspace's world with ByteLevel, which Flora refuses.
    func replacingByteLevelPreTokenizer() -> Data {
        guard var object = try? JSONSerialization.jsonObject(with: self) as? [String: Any] else { return self }
        object["pre_tokenizer"] = ["type": "Sequence", "pretokenizers": [["type": "Metaspace", "replacement": "▁"], ["type": "ByteLevel"]]]
        return (try? JSONSerialization.data(withJSONObject: object)) ?? self
    }
}
