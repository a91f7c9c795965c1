import FloraModel
import FloraTensor
import FloraTestSupport

/// Tiny random Llama models the tests build themselves.
enum TinyModel {
    static func make(seed: UInt64 = 7) throws -> LlamaModel { try TinyModels.model(seed: seed) }

    /// Runs each prompt alone, prefilled in one chunk, from an empty cache; returns its last logits.
    static func soloLogits(_ model: LlamaModel, _ prompt: [Int32]) throws -> [Float] {
        let cache = PagedKVCache(config: model.config, blockCount: 64)
        let scratch = ForwardScratch(config: model.config)
        var batch = Batch()
        let blocks = (prompt.count + cache.blockSize - 1) / cache.blockSize
        batch.append(sequenceTokens: prompt, startPosition: 0, blockTable: (0..<Int32(blocks)).map { $0 })
        return Array(try model.forward(batch, cache: cache, scratch: scratch))
    }
}

func maxRelativeError(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    let scale = max(b.map { abs($0) }.max() ?? 0, 1e-6)
    return zip(a, b).map { abs($0 - $1) }.max().map { $0 / scale } ?? 0
}
