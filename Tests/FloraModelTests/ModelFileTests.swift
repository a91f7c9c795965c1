// The same tiny model written as a GGUF file (q and k permuted as llama.cpp's converter does)
// and as a Hugging Face folder loads, through ModelLoader, to the same logits as its weights.

import FloraFormats
import FloraModel
import FloraTensor
import FloraTestSupport
import FloraTokenizer
import Foundation
import Testing

@Suite struct ModelFileTests {
    let seed: UInt64 = 21

    func logits(_ model: any CausalLanguageModel, _ prompt: [Int32]) throws -> [Float] {
        let cache = PagedKVCache(config: model.dimensions, blockCount: 4)
        var batch = Batch()
        batch.append(sequenceTokens: prompt, startPosition: 0, blockTable: [0, 1, 2, 3])
        return Array(try model.forward(batch, cache: cache, scratch: ForwardScratch(config: model.dimensions)))
    }

    /// F16 safetensors are packed panel by panel from the mapped file, F32 ones likewise.
    @Test(arguments: [SafetensorsDType.f32, .f16])
    func aGGUFFileWithPermutedQueryAndKeyAndAHuggingFaceFolderGiveTheSameLogits(folderDType: SafetensorsDType) throws {
        let directory = try TestFiles.scratchDirectory()
        try TinyModels.writeGGUF(to: directory + "/tiny.gguf", seed: seed)
        try TinyModels.writeHuggingFaceFolder(to: directory + "/tiny-hf", seed: seed, dtype: folderDType)
        let gguf = try ModelLoader.load(path: directory + "/tiny.gguf")
        let hf = try ModelLoader.load(path: directory + "/tiny-hf")
        #expect(gguf.config == hf.config)
        #expect(gguf.name == "tiny" && hf.name == "tiny-hf")
        let prompt = gguf.tokenizer.encode("Hello, world! 123")
        #expect(prompt == hf.tokenizer.encode("Hello, world! 123"))
        #expect(gguf.tokenizer.stopTokenIds.contains(256) && hf.tokenizer.stopTokenIds.contains(256))
        let a = try logits(try #require(gguf.model), prompt)
        let b = try logits(try #require(hf.model), prompt)
        #expect(maxRelativeError(a, b) < 1e-5)
    }

    @Test func aFolderWithoutWeightsOrAFileThatIsNotAModelIsRefusedByName() throws {
        let directory = try TestFiles.scratchDirectory()
        try TinyModels.writeHuggingFaceFolder(to: directory + "/broken", seed: seed)
        try FileManager.default.removeItem(atPath: directory + "/broken/model.safetensors")
        #expect { try ModelLoader.load(path: directory + "/broken") } throws: { "\($0)".contains("broken") }
        try Data("not a gguf".utf8).write(to: URL(fileURLWithPath: directory + "/junk.gguf"))
        #expect { try ModelLoader.load(path: directory + "/junk.gguf") } throws: { "\($0)".contains("junk.gguf") }
        #expect { try ModelLoader.load(path: directory + "/missing.gguf") } throws: { "\($0)".contains("missing.gguf") }
    }
}
