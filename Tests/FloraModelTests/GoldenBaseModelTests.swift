// The real SmolLM2 against the reference values of PyTorch + transformers (Tests/Fixtures/golden).

import FloraFormats
import FloraModel
import FloraTensor
import FloraTestSupport
import Foundation
import Testing

struct GoldenBaseModel: Decodable {
    struct Top: Decodable { let ids: [Int]; let values: [Float] }
    let prompt_ids: [Int32]
    let greedy_new_ids: [Int32]
    let last_logits_top10: Top
}

/// The real model, loaded once for every test of the process. The golden values are PyTorch's
/// products with the dequantized weights, so it computes exactly; `int8()` is the same file
/// with the default int8 products (QuantizedModelTests holds them to the exact ones).
enum RealModel {
    static let shared: Result<LlamaModel, any Error> = Result { try load(products: .exact) }
    static let sharedInt8: Result<LlamaModel, any Error> = Result { try load(products: .int8) }
    static func model() throws -> LlamaModel { try shared.get() }
    static func int8() throws -> LlamaModel { try sharedInt8.get() }

    private static func load(products: QuantizedProducts) throws -> LlamaModel {
        let file = try GGUFFile(path: try TestFiles.modelPath())
        let config = try LlamaConfig(gguf: file)
        return try LlamaModel(config: config, weights: try GGUFWeightSource(file: file, config: config, products: products))
    }
}

@Suite struct GoldenBaseModelTests {
    let golden: GoldenBaseModel

    init() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: TestFiles.goldenDirectory + "/base_model.json"))
        golden = try JSONDecoder().decode(GoldenBaseModel.self, from: data)
    }

    @Test func theConfigOfSmolLM2IsReadFromItsGGUFMetadata() throws {
        let c = try RealModel.model().config
        #expect(c.hiddenSize == 576 && c.layerCount == 30 && c.headCount == 9 && c.kvHeadCount == 3)
        #expect(c.intermediateSize == 1536 && c.vocabularySize == 49152 && c.headDim == 64 && c.tieWordEmbeddings)
    }

    @Test func lastPositionLogitsMatchTheReferenceTopTen() throws {
        let model = try RealModel.model()
        let cache = PagedKVCache(config: model.config, blockCount: 4)
        var batch = Batch()
        batch.append(sequenceTokens: golden.prompt_ids, startPosition: 0, blockTable: [0])
        let logits = Array(try model.forward(batch, cache: cache, scratch: ForwardScratch(config: model.config)))
        for (id, value) in zip(golden.last_logits_top10.ids, golden.last_logits_top10.values) {
            #expect(abs(logits[id] - value) <= 1e-3 * abs(value), "logit of token \(id): \(logits[id]) vs \(value)")
        }
        let order = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(10)
        #expect(Array(order) == golden.last_logits_top10.ids)

    }

    @Test func sixteenGreedyTokensMatchTheReference() throws {
        let model = try RealModel.model()
        let cache = PagedKVCache(config: model.config, blockCount: 4)
        let scratch = ForwardScratch(config: model.config)
        var tokens = golden.prompt_ids
        var computed = 0
        var generated: [Int32] = []
        while generated.count < golden.greedy_new_ids.count {
            var batch = Batch()
            batch.append(sequenceTokens: Array(tokens[computed...]), startPosition: computed, blockTable: [0, 1])
            let logits = try model.forward(batch, cache: cache, scratch: scratch)
            computed = tokens.count
            let next = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
            generated.append(next)
            tokens.append(next)
        }
        #expect(generated == golden.greedy_new_ids)
    }
}
