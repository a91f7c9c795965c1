// What the engine core runs each step: one forward pass over a Batch, with each token's adapter
// slot, and the logits of the rows that sample. The core thread creates its runner and is its
// only user, so a runner may keep its KV cache and scratch without locks.

import FloraAdapters
import FloraModel
import FloraTensor

public protocol ModelRunner: AnyObject {
    /// Runs `batch` over the runner's paged KV cache and calls `row` with each of
    /// `batch.logitTokens`'s logits `[vocabulary]`, in order.
    func execute(_ batch: Batch, adapters: AdapterBank, row: (Int, UnsafeBufferPointer<Float>) -> Void) throws
}

/// The model an engine serves: its sizes, and how the core thread makes its runner for a KV
/// pool of `blockCount` blocks of `blockSize` tokens.
public struct EngineModel: Sendable {
    public var vocabularySize: Int
    public var contextLength: Int
    public var adapterShapes: AdapterTargetShapes
    public var makeRunner: @Sendable (_ blockCount: Int, _ blockSize: Int) -> any ModelRunner

    public init(
        vocabularySize: Int, contextLength: Int, adapterShapes: AdapterTargetShapes,
        makeRunner: @escaping @Sendable (_ blockCount: Int, _ blockSize: Int) -> any ModelRunner
    ) {
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.adapterShapes = adapterShapes
        self.makeRunner = makeRunner
    }

    /// A model of any of Flora's architectures, run by its `forward`.
    public init(_ model: any CausalLanguageModel) {
        let d = model.dimensions
        self.init(vocabularySize: d.vocabularySize, contextLength: d.contextLength, adapterShapes: model.adapterShapes) { blockCount, blockSize in
            ForwardRunner(model: model, blockCount: blockCount, blockSize: blockSize)
        }
    }
}

/// A model's forward with the KV cache and scratch of one engine.
final class ForwardRunner: ModelRunner {
    let model: any CausalLanguageModel
    let cache: PagedKVCache
    let scratch: ForwardScratch

    init(model: any CausalLanguageModel, blockCount: Int, blockSize: Int) {
        self.model = model
        cache = PagedKVCache(config: model.dimensions, blockCount: blockCount, blockSize: blockSize)
        scratch = ForwardScratch(config: model.dimensions)
    }

    func execute(_ batch: Batch, adapters: AdapterBank, row: (Int, UnsafeBufferPointer<Float>) -> Void) throws {
        let logits = try model.forward(batch, cache: cache, scratch: scratch, adapters: adapters)
        for r in 0..<logits.rows { logits.withRow(r) { row(r, $0) } }
    }
}
