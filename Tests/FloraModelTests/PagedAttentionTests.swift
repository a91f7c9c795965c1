// Attention over the paged cache (PagedAttention.swift) computes 16 positions at a time in SIMD
// and falls back to a plain loop per position for block sizes that are not multiples of 16; the
// two paths, and every grouping of query heads onto KV heads, must give the same logits.

import FloraModel
import FloraTensor
import FloraTestSupport
import Testing

@Suite struct PagedAttentionTests {
    /// (query heads, KV heads): multi-head, GQA groups of 2, 3 and 9 (three passes of up to 4
    /// heads), and multi-query with 7 heads (passes of 4 and 3).
    static let headLayouts = [(4, 4), (4, 2), (9, 3), (9, 1), (7, 1)]

    @Test(arguments: headLayouts)
    func everyBlockSizeAndHeadGroupingGivesTheSameLogits(heads: Int, kvHeads: Int) throws {
        let config = LlamaConfig(
            hiddenSize: 16 * heads, intermediateSize: 48, layerCount: 2, headCount: heads, kvHeadCount: kvHeads,
            vocabularySize: 257, rmsNormEpsilon: 1e-5, ropeTheta: 10_000, contextLength: 512)
        let model = try TinyModels.model(config, seed: UInt64(heads * 10 + kvHeads))
        let prompt: [Int32] = (0..<70).map { Int32(($0 * 53 + 7) % 257) }
        func logits(blockSize: Int) throws -> [Float] {
            let cache = PagedKVCache(config: model.config, blockCount: 200 / blockSize + 2, blockSize: blockSize)
            let scratch = ForwardScratch(config: model.config)
            let table = (0..<Int32(cache.blockCount)).reversed().map { $0 }  // blocks in any order
            var last: [Float] = []
            var position = 0
            for chunk in [33, 1, 20, 1, 15] {  // prefill chunks and single decode tokens
                var batch = Batch()
                batch.append(sequenceTokens: Array(prompt[position..<(position + chunk)]), startPosition: position, blockTable: table)
                last = Array(try model.forward(batch, cache: cache, scratch: scratch))
                position += chunk
            }
            return last
        }
        let simd = try logits(blockSize: 16)
        for blockSize in [1, 5, 32, 48] {
            #expect(maxRelativeError(try logits(blockSize: blockSize), simd) < 1e-5, "block size \(blockSize)")
        }
    }
}
