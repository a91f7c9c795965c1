// Where the tests find the golden reference values and the real model, and the SmolLM2
// tokenizer read from that model's GGUF metadata through FloraFormats' reader.

import Foundation
import FloraFormats
import FloraTestSupport
import FloraTokenizer

enum TestResources {
    static var goldenDirectory: URL { URL(fileURLWithPath: TestFiles.goldenDirectory) }

    /// The real model, fetched when missing.
    static var modelPath: String { (try? TestFiles.modelPath()) ?? "" }

    /// The GGUF's tokenizer metadata, read as the model layer reads it.
    static let smolLMMetadata: Result<GGUFTokenizerMetadata, any Error> = Result {
        let file = try GGUFFile(path: modelPath)
        return GGUFTokenizerMetadata(
            source: modelPath,
            model: try file.string("tokenizer.ggml.model"),
            pre: try file.optionalString("tokenizer.ggml.pre"),
            tokens: try file.stringArray("tokenizer.ggml.tokens"),
            tokenTypes: try file.optionalIntArray("tokenizer.ggml.token_type"),
            merges: try file.optionalStringArray("tokenizer.ggml.merges"),
            bosTokenId: try file.optionalInt("tokenizer.ggml.bos_token_id"),
            eosTokenId: try file.optionalInt("tokenizer.ggml.eos_token_id"),
            paddingTokenId: try file.optionalInt("tokenizer.ggml.padding_token_id"),
            unknownTokenId: try file.optionalInt("tokenizer.ggml.unknown_token_id"),
            addBOSToken: try file.optionalBool("tokenizer.ggml.add_bos_token"),
            chatTemplate: try file.optionalString("tokenizer.chat_template"))
    }

    static let smolLM: Result<Tokenizer, any Error> = Result { try Tokenizer(gguf: smolLMMetadata.get()) }

    struct GoldenCase: Decodable, Sendable, CustomTestStringConvertible {
        var text: String
        var ids: [TokenID]
        var tokens: [String]
        var decoded: String
        var testDescription: String { text.debugDescription }
    }

    struct GoldenFile: Decodable {
        struct Special: Decodable { var bos: String; var eos: String; var bos_id: TokenID; var eos_id: TokenID }
        var vocab_size: Int
        var special_tokens: Special
        var cases: [GoldenCase]
    }

    static let golden: Result<GoldenFile, any Error> = Result {
        let data = try Data(contentsOf: goldenDirectory.appendingPathComponent("tokenizer.json"))
        return try JSONDecoder().decode(GoldenFile.self, from: data)
    }

    /// The golden cases, or one impossible case when the file cannot be read (so the test fails
    /// with the read error rather than running zero cases).
    static var goldenCases: [GoldenCase] {
        (try? golden.get().cases) ?? [GoldenCase(text: "<golden file missing>", ids: [-1], tokens: [], decoded: "")]
    }
}

import Testing

extension GGUFTokenizerMetadata {
    /// The tokenizer, optionally with another `tokenizer.ggml.pre`.
    func tokenizer(pre overridePre: String? = nil) throws -> Tokenizer {
        var metadata = self
        if let overridePre { metadata.pre = overridePre }
        return try Tokenizer(gguf: metadata)
    }
}
