// Tiny Llama models whose linear weights and embeddings are K-quants mixed per tensor (as
// llama.cpp's _S/_M/_L files mix them), against transformers' logits for the same GGUF files
// (Tests/Fixtures/kquants, written by scripts/fixtures/make_kquant_fixtures.py).

import FloraFormats
import FloraModel
import FloraTensor
import FloraTestSupport
import Testing

@Suite struct KQuantModelTests {
    static let files = ["tiny-llama-kquants.gguf", "tiny-llama-kquants-tied.gguf"]

    @Test(arguments: files, [true, false])
    func theKQuantModelGivesTransformersLogits(file name: String, keepsQuantizedWeights: Bool) throws {
        let reference = try #require(try KQuantFixtures.document().models[name])
        let expected = try KQuantFixtures.logits(reference)
        let file = try GGUFFile(path: KQuantFixtures.directory + "/" + name)
        let config = try LlamaConfig(gguf: file)
        #expect(config.tieWordEmbeddings == reference.tie_word_embeddings)
        let model = try LlamaModel(
            config: config, weights: try GGUFWeightSource(file: file, config: config, keepsQuantizedWeights: keepsQuantizedWeights))
        for prompt in reference.prompts {
            let actual = try promptLogits(model, prompt.ids)
            let rows = prompt.first_row * config.vocabularySize ..< (prompt.first_row + prompt.ids.count) * config.vocabularySize
            #expect(actual.count == rows.count)
            let error = relativeError(actual, expected[rows])
            #expect(error <= 1e-4, "\(name), '\(prompt.text)': relative error \(error)")
        }
    }

    @Test(arguments: files)
    func everyKQuantTensorStaysQuantizedInMemory(file name: String) throws {
        let reference = try #require(try KQuantFixtures.document().models[name])
        let file = try GGUFFile(path: KQuantFixtures.directory + "/" + name)
        let config = try LlamaConfig(gguf: file)
        let model = try LlamaModel(config: config, weights: try GGUFWeightSource(file: file, config: config, keepsQuantizedWeights: true))
        func format(_ gguf: String) -> BlockFormat? { reference.tensor_types[gguf].flatMap { BlockFormat(rawValue: $0.replacingOccurrences(of: "Q", with: "q")) } }
        for (index, layer) in model.layers.enumerated() {
            let packed: [(String, PackedMatrix)] = [
                ("attn_q", layer.query), ("attn_k", layer.key), ("attn_v", layer.value), ("attn_output", layer.output),
                ("ffn_gate", layer.gate), ("ffn_up", layer.up), ("ffn_down", layer.down),
            ]
            for (name, matrix) in packed {
                #expect(matrix.format == format("blk.\(index).\(name).weight"), "blk.\(index).\(name)")
            }
        }
        #expect(model.lmHead.format == format(reference.tie_word_embeddings ? "token_embd.weight" : "output.weight"))
        // The embedding table is looked up from its quantized rows: it unpacks to the file's values.
        #expect(model.embeddingWeight.toArray() == (try file.tensor("token_embd.weight")).toArray())
    }

    /// Q4_0, Q5_0 and IQ4_NL weights (what llama.cpp's mixes fall back to for rows that are not
    /// whole super-blocks) stay quantized as Q8_0 panels, q/k rows un-permuted like any other.
    @Test(arguments: [BlockFormat.q4_0, .q5_0, .iq4_nl])
    func aFallbackWeightStaysQuantizedAsQ8_0WithTheFilesValues(format: BlockFormat) throws {
        let reference = try KQuantFixtures.referenceBlocks(format)   // 40 blocks: 20 rows of 64
        let type = try #require(GGUFType.allCases.first { $0.blockFormat == format })
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        try writer.addRawTensor("blk.0.attn_q.weight", dimensions: [64, 20], type: type, bytes: reference.blocks)
        let file = try GGUFFile(bytes: try writer.serialized(), name: "fallback.gguf")
        let config = LlamaConfig(hiddenSize: 64, intermediateSize: 64, layerCount: 1, headCount: 2, kvHeadCount: 2, headDim: 10, vocabularySize: 8)
        let source = try GGUFWeightSource(file: file, config: config, keepsQuantizedWeights: true)
        let name = "model.layers.0.self_attn.q_proj.weight"
        let packed = try #require(try source.packedLinear(name))
        #expect(packed.format == .q8_0)
        let expected = try source.tensor(name)   // dequantized through BlockFormat, rows un-permuted
        #expect(expected.toArray() != reference.values, "the q rows are permuted in the file")
        #expect(packed.unpacked().toArray().map(\.bitPattern) == expected.toArray().map(\.bitPattern))
    }

    @Test func theKQuantModelLoadsThroughTheModelLoaderWithItsTokenizer() throws {
        let loaded = try ModelLoader.load(path: KQuantFixtures.directory + "/tiny-llama-kquants.gguf")
        let model = try #require(loaded.model as? LlamaModel)
        #expect(model.layers[0].query.format == .q2_K)
        #expect(loaded.tokenizer.encode("Hello") == [256, 108, 108, 111])  // the file's one merge, "H e" → "He"
    }
}
