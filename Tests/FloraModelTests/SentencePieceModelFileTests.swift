// ModelLoader picks the tokenizer a model file describes: SentencePiece BPE for a GGUF whose
// `tokenizer.ggml.model` is "llama", BPE with byte fallback for a Hugging Face folder whose
// tokenizer.json is transformers' SentencePiece shape. The vocabulary is the fixture of
// Tests/Fixtures/tokenizers (scripts/fixtures/make_tokenizer_fixtures.py) on the tiny model.

import FloraFormats
import FloraModel
import FloraTestSupport
import FloraTokenizer
import Foundation
import Testing

@Suite struct SentencePieceModelFileTests {
    static let fixtures = TestFiles.repositoryRoot + "/Tests/Fixtures/tokenizers"
    // From the fixture's cases.json: what llama.cpp and tokenizers give for this text.
    static let text = "Hello world"

    /// The tiny model's GGUF with the tokenizer metadata of `vocabulary` instead of its own.
    static func writeGGUF(to path: String, tokenizerFrom vocabulary: String, change: (inout GGUFWriter) -> Void = { _ in }) throws {
        let directory = try TestFiles.scratchDirectory()
        try TinyModels.writeGGUF(to: directory + "/tiny.gguf", seed: 5)
        let tiny = try GGUFFile(path: directory + "/tiny.gguf")
        let tokenizer = try GGUFFile(path: vocabulary)
        var writer = GGUFWriter()
        for key in tiny.metadataKeys where !key.hasPrefix("tokenizer.") { writer.set(key, tiny.metadata[key]!) }
        for key in tokenizer.metadataKeys where key.hasPrefix("tokenizer.") { writer.set(key, tokenizer.metadata[key]!) }
        change(&writer)
        for name in tiny.tensorNames {
            let info = try tiny.tensorInfo(name)
            try tiny.withRawBytes(of: name) { bytes in
                try writer.addRawTensor(name, dimensions: info.dimensions, type: info.type, bytes: Array(bytes))
            }
        }
        try writer.write(to: path)
    }

    @Test func aGGUFWithALlamaVocabularyLoadsTheSentencePieceTokenizer() throws {
        let path = try TestFiles.scratchDirectory() + "/tiny-spm.gguf"
        try Self.writeGGUF(to: path, tokenizerFrom: Self.fixtures + "/sentencepiece-bpe.gguf")
        let loaded = try ModelLoader.load(path: path)
        #expect(loaded.tokenizer.model == .sentencePieceBPE)
        #expect(loaded.tokenizer.vocabularySize == 1500)
        let ids = loaded.tokenizer.encode(Self.text, addSpecialTokens: true)
        #expect(ids.first == 1)
        #expect(loaded.tokenizer.decode(ids, skipSpecialTokens: true) == Self.text)
        #expect(loaded.model != nil)
    }

    @Test(arguments: ["tokenizer.json", "tokenizer-legacy.json"])
    func aHuggingFaceFolderWithASentencePieceTokenizerJSONLoadsIt(_ file: String) throws {
        let folder = try TestFiles.scratchDirectory() + "/tiny-spm"
        try TinyModels.writeHuggingFaceFolder(to: folder, seed: 5)
        for (source, target) in [(file, "tokenizer.json"), ("tokenizer_config.json", "tokenizer_config.json")] {
            try? FileManager.default.removeItem(atPath: folder + "/" + target)
            try FileManager.default.copyItem(atPath: Self.fixtures + "/" + source, toPath: folder + "/" + target)
        }
        let loaded = try ModelLoader.load(path: folder, loadWeights: false)
        let gguf = try Tokenizer.gguf(GGUFFile(path: Self.fixtures + "/sentencepiece-bpe.gguf"))
        #expect(loaded.tokenizer.model == .bpe)
        #expect(loaded.tokenizer.tokens == gguf.tokens)
        #expect(loaded.tokenizer.encode(Self.text) == gguf.encode(Self.text))
        #expect(loaded.tokenizer.decode(gguf.encode(Self.text)) == Self.text)
    }

    @Test func aGGUFWithATokenizerModelFloraDoesNotReadIsRefusedNamingTheFile() throws {
        let path = try TestFiles.scratchDirectory() + "/tiny-t5.gguf"
        try Self.writeGGUF(to: path, tokenizerFrom: Self.fixtures + "/sentencepiece-bpe.gguf") {
            $0.set("tokenizer.ggml.model", .string("t5"))
        }
        #expect {
            try ModelLoader.load(path: path, loadWeights: false)
        } throws: { error in
            "\(error)".hasPrefix(path + ": ") && "\(error)".contains("tokenizer.ggml.model is \"t5\"")
        }
    }
}
