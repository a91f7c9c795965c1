// The SentencePiece fixtures of Tests/Fixtures/tokenizers (scripts/fixtures/make_tokenizer_fixtures.py):
// one small SentencePiece BPE vocabulary as a GGUF, as transformers' tokenizer.json and as Llama
// 2's legacy tokenizer.json shape, with the reference ids and texts for a few hundred strings.

import Foundation
import FloraFormats
import FloraTestSupport
import FloraTokenizer
import Testing

enum SentencePieceFixtures {
    static let directory = TestFiles.repositoryRoot + "/Tests/Fixtures/tokenizers"

    /// One string with what the references give for it. A field the script left out equals
    /// another (see its `_compact`): ids default to `sentencepiece`, texts to `text`.
    struct Case: Decodable, Sendable, CustomTestStringConvertible {
        var text: String
        var sentencepiece: [TokenID]
        var llama_cpp: [TokenID]?
        var llama_cpp_plain: [TokenID]?
        var tokenizers: [TokenID]?
        var tokenizers_legacy: [TokenID]?
        var sentencepiece_decoded: String?
        var sentencepiece_decoded_skip: String?
        var llama_cpp_decoded: String?
        var llama_cpp_decoded_skip: String?
        var tokenizers_decoded: String?
        var tokenizers_decoded_skip: String?
        var tokenizers_legacy_decoded: String?
        var tokenizers_legacy_decoded_skip: String?
        var sentencepiece_own_decode: String?
        /// The Unigram vocabulary's ids and its decoder's texts.
        var tokenizers_unigram: [TokenID]
        var tokenizers_unigram_decoded: String?
        var tokenizers_unigram_decoded_skip: String?

        var testDescription: String { text.count > 60 ? String(text.prefix(60)).debugDescription + "…" : text.debugDescription }

        var llamaCpp: [TokenID] { llama_cpp ?? sentencepiece }
        var llamaCppPlain: [TokenID] { llama_cpp_plain ?? sentencepiece }
        var hf: [TokenID] { tokenizers ?? sentencepiece }
        var hfLegacy: [TokenID] { tokenizers_legacy ?? sentencepiece }

        /// Every id list with what tokenizers' decoder makes of it, with and without special tokens.
        var decodings: [(name: String, ids: [TokenID], text: String, skippingSpecial: String)] {
            let spText = sentencepiece_decoded ?? text
            let sp = ("sentencepiece", sentencepiece, spText, sentencepiece_decoded_skip ?? spText)
            func other(_ name: String, _ ids: [TokenID]?, _ decoded: String?, _ skip: String?) -> (String, [TokenID], String, String) {
                guard let ids else { return (name, sp.1, sp.2, sp.3) }
                let whole = decoded ?? text
                return (name, ids, whole, skip ?? whole)
            }
            return [sp, other("llama_cpp", llama_cpp, llama_cpp_decoded, llama_cpp_decoded_skip),
                    other("tokenizers", tokenizers, tokenizers_decoded, tokenizers_decoded_skip),
                    other("tokenizers_legacy", tokenizers_legacy, tokenizers_legacy_decoded, tokenizers_legacy_decoded_skip)]
        }
    }

    struct WithSpecialTokens: Decodable, Sendable {
        var text: String
        var tokenizers: [TokenID]
        var tokenizers_legacy: [TokenID]
    }

    struct File: Decodable, Sendable {
        struct Special: Decodable, Sendable {
            var unk, bos, eos: TokenID
            var control: [TokenID]
            var user_defined: [TokenID]
        }
        var versions: [String: String]
        var vocab_size: Int
        var special: Special
        var with_special_tokens: [WithSpecialTokens]
        var cases: [Case]
    }

    static let file: Result<File, any Error> = Result {
        try JSONDecoder().decode(File.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/cases.json")))
    }

    /// The cases, or one impossible case when the file cannot be read (so that the tests fail
    /// with the read error rather than run zero cases).
    static var cases: [Case] {
        (try? file.get().cases) ?? [Case(text: "<cases.json missing>", sentencepiece: [-1], tokenizers_unigram: [-1])]
    }

    /// The GGUF's tokenizer metadata, read as ModelLoader reads it.
    static let ggufMetadata: Result<GGUFTokenizerMetadata, any Error> = Result {
        let file = try GGUFFile(path: directory + "/sentencepiece-bpe.gguf")
        return GGUFTokenizerMetadata(
            source: file.path,
            model: try file.string("tokenizer.ggml.model"),
            pre: try file.optionalString("tokenizer.ggml.pre"),
            tokens: try file.stringArray("tokenizer.ggml.tokens"),
            scores: try file.optionalFloatArray("tokenizer.ggml.scores"),
            tokenTypes: try file.optionalIntArray("tokenizer.ggml.token_type"),
            merges: try file.optionalStringArray("tokenizer.ggml.merges"),
            bosTokenId: try file.optionalInt("tokenizer.ggml.bos_token_id"),
            eosTokenId: try file.optionalInt("tokenizer.ggml.eos_token_id"),
            paddingTokenId: try file.optionalInt("tokenizer.ggml.padding_token_id"),
            unknownTokenId: try file.optionalInt("tokenizer.ggml.unknown_token_id"),
            addBOSToken: try file.optionalBool("tokenizer.ggml.add_bos_token"),
            addEOSToken: try file.optionalBool("tokenizer.ggml.add_eos_token"),
            addSpacePrefix: try file.optionalBool("tokenizer.ggml.add_space_prefix"),
            chatTemplate: try file.optionalString("tokenizer.chat_template"))
    }

    static let gguf: Result<Tokenizer, any Error> = Result { try Tokenizer(gguf: ggufMetadata.get()) }

    static func json(_ name: String) throws -> Tokenizer {
        let path = directory + "/" + name
        return try Tokenizer(tokenizerJSON: Data(contentsOf: URL(fileURLWithPath: path)),
                             tokenizerConfigJSON: Data(contentsOf: URL(fileURLWithPath: directory + "/tokenizer_config.json")),
                             source: path)
    }

    /// transformers' file: Metaspace pre-tokenizer (prepend_scheme "first").
    static let metaspaceJSON: Result<Tokenizer, any Error> = Result { try json("tokenizer.json") }
    /// Llama 2's shape: Prepend + Replace normalizers, BOS from the post-processor.
    static let legacyJSON: Result<Tokenizer, any Error> = Result { try json("tokenizer-legacy.json") }
    /// Another vocabulary: Unigram behind Metaspace (always, split), decoder ByteFallback + Metaspace.
    static let unigramJSON: Result<Tokenizer, any Error> = Result {
        let path = directory + "/tokenizer-unigram.json"
        return try Tokenizer(tokenizerJSON: Data(contentsOf: URL(fileURLWithPath: path)), tokenizerConfigJSON: nil, source: path)
    }
}
