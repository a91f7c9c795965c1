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
                config: config, weights: try GGUFWeightSource(file: file, config: config, keepsQuantizedWeights: quantized, products: .exact))
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

    /// int8 activations (the default on CPUs with VNNI) against the exact products on the golden
    /// prompt: the greedy tokens are PyTorch's, and the logits move by a bounded amount.
    @Test func int8ProductsKeepTheGoldenGreedyTokens() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: TestFiles.goldenDirectory + "/base_model.json"))
        let golden = try JSONDecoder().decode(GoldenBaseModel.self, from: data)
        let exact = try RealModel.model(), int8 = try RealModel.int8()
        func run(_ model: LlamaModel) throws -> (logits: [Float], tokens: [Int32]) {
            let cache = PagedKVCache(config: model.config, blockCount: 8)
            let scratch = ForwardScratch(config: model.config)
            let table: [Int32] = Array(0..<8)
            var batch = Batch()
            batch.append(sequenceTokens: golden.prompt_ids, startPosition: 0, blockTable: table)
            var logits = Array(try model.forward(batch, cache: cache, scratch: scratch))
            let first = logits
            var tokens: [Int32] = []
            var position = golden.prompt_ids.count
            while tokens.count < golden.greedy_new_ids.count {
                let next = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
                tokens.append(next)
                batch = Batch()
                batch.append(sequenceTokens: [next], startPosition: position, blockTable: table)
                position += 1
                logits = Array(try model.forward(batch, cache: cache, scratch: scratch))
            }
            return (first, tokens)
        }
        let (exactLogits, exactTokens) = try run(exact)
        let (int8Logits, int8Tokens) = try run(int8)
        #expect(exactTokens == golden.greedy_new_ids)
        #expect(int8Tokens == golden.greedy_new_ids)
        let largest = zip(int8Logits, exactLogits).map { abs($0 - $1) }.max() ?? 0
        let spread = (exactLogits.max() ?? 0) - (exactLogits.min() ?? 0)
        // Measured 2026-12-03: max |Δlogit| 0.3 over 49,152 logits spanning about 40.
        #expect(largest < 1, "max |Δlogit| \(largest), logits spanning \(spread)")
        #expect(int8Logits != exactLogits || !QuantizedProducts.int8KernelsAvailable, "the int8 kernels did not run")
    }
}
