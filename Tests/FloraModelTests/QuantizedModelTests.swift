// The real SmolLM2 with its Q4_1/Q8_0 weights kept quantized against the same file dequantized
// to fp32 at load time.

import FloraFormats
import FloraModel
import FloraTensor
import FloraTestSupport
import Foundation
import Testing

@Suite struct QuantizedModelTests {
    @Test(arguments: [
        ("model.layers.0.self_attn.q_proj.weight", BlockFormat.q4_1),
        ("model.layers.3.self_attn.k_proj.weight", .q4_1),
        ("model.layers.5.mlp.down_proj.weight", .q4_1),
        ("model.embed_tokens.weight", .q8_0),
    ])
    func aQuantizedLinearWeightUnpacksToTheFP32Tensor(name: String, format: BlockFormat) throws {
        let file = try GGUFFile(path: try TestFiles.modelPath())
        let config = try LlamaConfig(gguf: file)
        let source = try GGUFWeightSource(file: file, config: config, keepsQuantizedWeights: true)
        let packed = try #require(try source.packedLinear(name))
        #expect(packed.format == format)
        #expect(packed.unpacked().toArray() == (try source.tensor(name)).toArray())
        let fp32Source = try GGUFWeightSource(file: file, config: config, keepsQuantizedWeights: false)
        #expect(try fp32Source.packedLinear(name) == nil)
    }

    @Test func theQuantizedModelGivesTheLogitsOfTheFP32Model() throws {
        let file = try GGUFFile(path: try TestFiles.modelPath())
        let config = try LlamaConfig(gguf: file)
        let data = try Data(contentsOf: URL(fileURLWithPath: TestFiles.goldenDirectory + "/base_model.json"))
        let prompt = try JSONDecoder().decode(GoldenBaseModel.self, from: data).prompt_ids
        func lastLogits(quantized: Bool) throws -> [Float] {
            let model = try LlamaModel(
                config: config, weights: try GGUFWeightSource(file: file, config: config, keepsQuantizedWeights: quantized))
            let cache = PagedKVCache(config: config, blockCount: 4)
            var batch = Batch()
            batch.append(sequenceTokens: prompt, startPosition: 0, blockTable: [0])
            return Array(try model.forward(batch, cache: cache, scratch: ForwardScratch(config: config)))
        }
        let quantized = try lastLogits(quantized: true)
        let fp32 = try lastLogits(quantized: false)
        var difference = 0.0, norm = 0.0
        for (q, f) in zip(quantized, fp32) {
            difference += Double(q - f) * Double(q - f)
            norm += Double(f) * Double(f)
        }
        #expect(quantized.count == config.vocabularySize)
        #expect((difference / norm).squareRoot() <= 1e-4)
    }
}
