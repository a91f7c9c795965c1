// What the engine, the server and the benchmarks need of a model, whatever its architecture
// (LlamaModel, GPTBigCodeModel): its sizes, the layers adapters may target, and one forward pass
// over a Batch with a paged KV cache. Each architecture is one file that reads like its paper;
// the checks every forward makes before it runs live here, once.

import FloraAdapters
import FloraTensor

/// The sizes the KV cache, the forward scratch and the engine are laid out by.
public struct ModelDimensions: Sendable, Equatable {
    public var layerCount: Int
    public var hiddenSize: Int          // d_model
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    /// The MLP's inner width (SwiGLU's gate and up, GPTBigCode's c_fc).
    public var intermediateSize: Int
    public var vocabularySize: Int
    public var contextLength: Int
    /// Outputs of a fused query/key/value projection (GPTBigCode's c_attn); 0 without one.
    public var fusedQKVWidth: Int

    public init(
        layerCount: Int, hiddenSize: Int, headCount: Int, kvHeadCount: Int, headDim: Int, intermediateSize: Int,
        vocabularySize: Int, contextLength: Int, fusedQKVWidth: Int = 0
    ) {
        self.layerCount = layerCount
        self.hiddenSize = hiddenSize
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount
        self.headDim = headDim
        self.intermediateSize = intermediateSize
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.fusedQKVWidth = fusedQKVWidth
    }

    public var queryDim: Int { headCount * headDim }       // the query projection's outputs
    public var kvDim: Int { kvHeadCount * headDim }        // the key and value projections' outputs
}

/// A model configuration that the KV cache and the forward scratch can be sized by.
public protocol TransformerShape {
    var dimensions: ModelDimensions { get }
}

extension ModelDimensions: TransformerShape {
    public var dimensions: ModelDimensions { self }
}

/// A decoder-only language model served by Flora.
public protocol CausalLanguageModel: AnyObject, Sendable, AdapterBaseWeights {
    /// The architecture's name as Hugging Face's `model_type` spells it ("llama", "gpt_bigcode").
    var architecture: String { get }
    var dimensions: ModelDimensions { get }
    /// The shapes of the linear layers adapters may target.
    var adapterShapes: AdapterTargetShapes { get }
    /// Runs `batch` and returns the logits of `batch.logitTokens`, `[L, vocab]`, held in `scratch`
    /// (overwritten by the next forward with the same scratch). Writes the batch's keys and values
    /// into `cache` at the blocks its block tables name. Tokens whose `adapterSlots` entry is not
    /// -1 run with that slot's adapter of `adapters` at every layer it targets.
    func forward(_ batch: Batch, cache: PagedKVCache, scratch: ForwardScratch, adapters: AdapterBank?) throws -> Logits
}

extension CausalLanguageModel {
    /// The forward pass without adapters.
    public func forward(_ batch: Batch, cache: PagedKVCache, scratch: ForwardScratch) throws -> Logits {
        try forward(batch, cache: cache, scratch: scratch, adapters: nil)
    }

    /// The checks every forward makes before it runs, then the scratch sized for the batch and
    /// the linear layers of this batch (through `adapters` when any token names a slot).
    func beginForward(_ batch: Batch, cache: PagedKVCache, scratch: ForwardScratch, adapters: AdapterBank?) throws -> LinearLayers {
        let d = dimensions
        try batch.validate(vocabularySize: d.vocabularySize, blockSize: cache.blockSize, blockCount: cache.blockCount)
        if let beyond = batch.positions.first(where: { Int($0) >= d.contextLength }) {
            throw ModelError.invalidBatch("position \(beyond) is beyond the context length \(d.contextLength)")
        }
        guard cache.layerCount == d.layerCount, cache.kvHeadCount == d.kvHeadCount, cache.headDim == d.headDim else {
            throw ModelError.invalidBatch("the KV cache was made for another model shape")
        }
        guard scratch.dimensions == d else { throw ModelError.invalidBatch("the forward scratch was made for another model shape") }
        let t = batch.tokenCount
        let usesAdapters = batch.adapterSlots.contains { $0 != AdapterBank.noAdapter }
        if usesAdapters {
            guard let adapters else { throw ModelError.invalidBatch("tokens name adapter slots, but no adapter bank was given") }
            guard adapters.shapes == adapterShapes else { throw ModelError.invalidBatch("the adapter bank was made for another model shape") }
            try batch.adapterSlots.withUnsafeBufferPointer { try adapters.prepare(slots: $0.baseAddress!, tokens: t) }
        }
        let longest = (batch.positions.max().map { Int($0) + 1 }) ?? 0
        scratch.reserve(tokens: t, logitRows: batch.logitTokens.count, context: longest, blockSize: cache.blockSize)
        return LinearLayers(bank: usesAdapters ? adapters : nil, slots: batch.adapterSlots, tokens: t)
    }
}

extension CausalLanguageModel {
    /// The logits of `batch.logitTokens`, `[L, vocab]` in `scratch`: each wanted row of the
    /// residual stream `hidden` (`[T, hidden]`) through the final norm (`normalize(row, into:)`),
    /// then one product with `head`, then each row's adapter on the head (`linear`'s bank).
    func headLogits(
        _ batch: Batch, hidden: UnsafePointer<Float>, head: PackedMatrix, scratch: ForwardScratch, linear: LinearLayers,
        normalize: (UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
    ) -> Logits {
        let d = dimensions
        let l = batch.logitTokens.count
        let last = scratch.lastHidden.pointer     // [L, hidden]
        for (row, token) in batch.logitTokens.enumerated() {
            normalize(hidden + Int(token) * d.hiddenSize, last + row * d.hiddenSize)
        }
        if l > 0 { MatMul.multiply(last, rows: l, head, into: scratch.logits.pointer) }  // [L, vocab]
        if l > 0, let bank = linear.bank, bank.adaptsVocabulary {
            batch.logitTokens.withUnsafeBufferPointer { rows in
                linear.slots.withUnsafeBufferPointer { slots in
                    bank.adaptHead(hidden: last, rows: l, logitTokens: rows.baseAddress!, slots: slots.baseAddress!,
                                   logits: scratch.logits.pointer)
                }
            }
        }
        return Logits(storage: scratch.logits, rows: l, vocabularySize: d.vocabularySize)
    }
}

/// The linear layers of one forward: through the adapter bank when any token of the batch has
/// an adapter, else the plain product.
struct LinearLayers {
    let bank: AdapterBank?
    let slots: [Int32]   // [T]
    let tokens: Int

    /// Each token's adapter on its embedding row, `hidden` `[T, hidden]` (the base rows looked up).
    func adaptEmbeddings(_ batch: Batch, hidden: UnsafeMutablePointer<Float>) {
        guard let bank, bank.adaptsVocabulary else { return }
        batch.tokens.withUnsafeBufferPointer { tokens in
            slots.withUnsafeBufferPointer { slots in
                bank.adaptEmbeddings(tokens: tokens.baseAddress!, slots: slots.baseAddress!, count: self.tokens, hidden: hidden)
            }
        }
    }

    /// `y = x Wᵀ + b` for every token, each with its adapter at (layer, module).
    func callAsFunction(
        _ layer: Int, _ module: TargetModule, _ w: PackedMatrix, bias: Tensor?, _ x: UnsafePointer<Float>,
        into y: UnsafeMutablePointer<Float>
    ) {
        if let bank {
            slots.withUnsafeBufferPointer { slots in
                bank.linear(
                    layer: layer, module: module, weight: w, bias: bias.map { UnsafePointer($0.pointer) },
                    input: x, tokens: tokens, slots: slots.baseAddress!, output: y)
            }
            return
        }
        MatMul.multiply(x, rows: tokens, w, into: y)
        if let bias {
            for i in 0..<tokens { Elementwise.add(bias.pointer, into: y + i * w.outputs, count: w.outputs) }
        }
    }
}
