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

    @Test func theKQuantModelLoadsThroughTheModelLoaderWithItsTokenizer() throws {
        let loaded = try ModelLoader.load(path: KQuantFixtures.directory + "/tiny-llama-kquants.gguf")
        let model = try #require(loaded.model as? LlamaModel)
        #expect(model.layers[0].query.format == .q2_K)
        #expect(loaded.tokenizer.encode("Hello") == [256, 108, 108, 111])  // the file's one merge, "H e" → "He"
    }
}
