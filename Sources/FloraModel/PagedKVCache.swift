// The paged KV cache (vLLM's PagedAttention layout): fixed blocks of `blockSize` positions in
// one bounded pool; sequences own blocks through their block tables. This type only holds the
// memory; which block belongs to whom is the block manager's business (FloraEngine).

import FloraTensor

public final class PagedKVCache {
    public static let defaultBlockSize = 16

    public let blockSize: Int
    public let blockCount: Int
    public let layerCount: Int
    public let kvHeadCount: Int
    public let headDim: Int
    /// Per layer: `[block, kvHead, slot, headDim]`, so one head's positions within a block are
    /// contiguous for the attention loop.
    let keys: [FloatBuffer]
    let values: [FloatBuffer]

    public init(config: some TransformerShape, blockCount: Int, blockSize: Int = PagedKVCache.defaultBlockSize) {
        let config = config.dimensions
        self.blockSize = blockSize
        self.blockCount = blockCount
        self.layerCount = config.layerCount
        self.kvHeadCount = config.kvHeadCount
        self.headDim = config.headDim
        let floats = blockCount * blockSize * config.kvDim
        // Every slot is written before it is read (a position's keys and values are stored
        // before attention reads them), so the pool needs no zeroing.
        keys = (0..<config.layerCount).map { _ in FloatBuffer(uninitializedCount: floats) }
        values = (0..<config.layerCount).map { _ in FloatBuffer(uninitializedCount: floats) }
    }

    /// Blocks needed to hold `tokens` positions.
    public func blocksNeeded(forTokens tokens: Int) -> Int { (tokens + blockSize - 1) / blockSize }

    /// Bytes held by the pool (keys and values, all layers).
    public var byteCount: Int { 2 * layerCount * blockCount * blockSize * kvHeadCount * headDim * MemoryLayout<Float>.stride }

    /// Layer `index` of the pool.
    func layer(_ index: Int) -> Layer {
        Layer(keys: keys[index], values: values[index], kvHeadCount: kvHeadCount, blockSize: blockSize, headDim: headDim)
    }

    /// One layer's keys and values with the pool's geometry: a `Sendable` value that the workers
    /// of attention's parallel region share, each reading any block and writing none.
    struct Layer: Sendable {
        let keys: FloatBuffer     // [block, kvHead, slot, headDim]
        let values: FloatBuffer   // [block, kvHead, slot, headDim]
        let kvHeadCount: Int
        let blockSize: Int
        let headDim: Int

        /// Offset of (block, kvHead, slot) within `keys` and `values`.
        @inline(__always)
        func offset(block: Int, head: Int, slot: Int) -> Int {
            ((block * kvHeadCount + head) * blockSize + slot) * headDim
        }
    }
}
