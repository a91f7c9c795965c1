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

    /// A Llama-family model run by `LlamaModel.forward`.
    public static func llama(_ model: LlamaModel) -> EngineModel {
        EngineModel(vocabularySize: model.config.vocabularySize, contextLength: model.config.contextLength,
                    adapterShapes: model.adapterShapes) { blockCount, blockSize in
            LlamaRunner(model: model, blockCount: blockCount, blockSize: blockSize)
        }
    }
}

/// `LlamaModel.forward` with the KV cache and scratch of one engine.
final class LlamaRunner: ModelRunner {
    let model: LlamaModel
    let cache: PagedKVCache
    let scratch: ForwardScratch

    init(model: LlamaModel, blockCount: Int, blockSize: Int) {
        self.model = model
        cache = PagedKVCache(config: model.config, blockCount: blockCount, blockSize: blockSize)
        scratch = ForwardScratch(config: model.config)
    }

    func execute(_ batch: Batch, adapters: AdapterBank, row: (Int, UnsafeBufferPointer<Float>) -> Void) throws {
        let logits = try model.forward(batch, cache: cache, scratch: scratch, adapters: adapters)
        for r in 0..<logits.rows { logits.withRow(r) { row(r, $0) } }
    }
}
