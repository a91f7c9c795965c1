// Generates for a fixed set of requests together: every step runs one forward over all
// unfinished sequences — prompt chunks under a token budget, then one token each — and
// samples each sequence's next token. The continuous-batching engine replaces this loop
// for serving; the command line uses it for a known list of prompts.

import FloraModel
import FloraTensor

public struct GenerationRequest: Sendable {
    public var promptTokens: [Int32]
    public var parameters: SamplingParameters
    /// The adapter bank slot of this request, -1 for the base model.
    public var adapterSlot: Int32

    public init(promptTokens: [Int32], parameters: SamplingParameters, adapterSlot: Int32 = -1) {
        self.promptTokens = promptTokens
        self.parameters = parameters
        self.adapterSlot = adapterSlot
    }
}

public enum FinishReason: String, Sendable, Equatable {
    case stop, length, abort
}

public struct GenerationResult: Sendable {
    public var promptTokens: [Int32]
    public var tokens: [SampledToken]
    public var finishReason: FinishReason
    public var tokenIds: [Int32] { tokens.map(\.token) }
}

public enum GenerationError: Error, CustomStringConvertible, Sendable {
    case emptyPrompt(request: Int)
    case promptTooLong(request: Int, tokens: Int, contextLength: Int)

    public var description: String {
        switch self {
        case .emptyPrompt(let i): "prompt \(i) is empty: at least one token is needed"
        case .promptTooLong(let i, let n, let context): "prompt \(i) has \(n) tokens; the model's context holds \(context), including the generated tokens"
        }
    }
}

public final class BatchGenerator {
    public let model: LlamaModel
    public let stopTokenIds: Set<Int32>
    public let maxBatchTokens: Int

    public init(model: LlamaModel, stopTokenIds: Set<Int32>, maxBatchTokens: Int = 512) {
        self.model = model
        self.stopTokenIds = stopTokenIds
        self.maxBatchTokens = max(1, maxBatchTokens)
    }

    /// Runs every request to its end. `onToken(request, token)` sees each token as it is chosen.
    public func generate(
        _ requests: [GenerationRequest], onToken: (Int, SampledToken) -> Void = { _, _ in }
    ) throws -> [GenerationResult] {
        let c = model.config
        let blockSize = PagedKVCache.defaultBlockSize
        var states: [SequenceState] = []
        var nextBlock = 0
        for (i, request) in requests.enumerated() {
            try request.parameters.validate()
            guard !request.promptTokens.isEmpty else { throw GenerationError.emptyPrompt(request: i) }
            guard request.promptTokens.count < c.contextLength else {
                throw GenerationError.promptTooLong(request: i, tokens: request.promptTokens.count, contextLength: c.contextLength)
            }
            let maxTokens = min(request.parameters.maxTokens, c.contextLength - request.promptTokens.count)
            let blocks = (request.promptTokens.count + maxTokens + blockSize - 1) / blockSize
            states.append(SequenceState(request: request, maxTokens: maxTokens, blockTable: (nextBlock..<(nextBlock + blocks)).map { Int32($0) }))
            nextBlock += blocks
        }
        let cache = PagedKVCache(config: c, blockCount: max(nextBlock, 1), blockSize: blockSize)
        let scratch = ForwardScratch(config: c)
        let probabilities = FloatBuffer(count: c.vocabularySize)
        var batch = Batch()
        var owners: [Int] = []  // request of each logit row

        while states.contains(where: { $0.finish == nil }) {
            batch = Batch()
            owners.removeAll(keepingCapacity: true)
            var budget = maxBatchTokens
            for i in states.indices where states[i].finish == nil && budget > 0 {
                let pending = states[i].tokens.count - states[i].computed
                let n = min(pending, budget)
                batch.append(
                    sequenceTokens: Array(states[i].tokens[states[i].computed..<(states[i].computed + n)]),
                    startPosition: states[i].computed, blockTable: states[i].blockTable,
                    adapterSlot: states[i].request.adapterSlot, wantLogits: n == pending)
                if n == pending { owners.append(i) }
                states[i].computed += n
                budget -= n
            }
            let logits = try model.forward(batch, cache: cache, scratch: scratch)
            for (row, i) in owners.enumerated() {
                let rowLogits = UnsafeBufferPointer(rebasing: logits[(row * c.vocabularySize)..<((row + 1) * c.vocabularySize)])
                let sampled = states[i].sampler.sample(rowLogits, probabilities: probabilities.pointer)
                states[i].generated.append(sampled)
                states[i].tokens.append(sampled.token)
                onToken(i, sampled)
                if stopTokenIds.contains(sampled.token) || states[i].request.parameters.stopTokenIds.contains(sampled.token) {
                    states[i].finish = .stop
                } else if states[i].generated.count >= states[i].maxTokens {
                    states[i].finish = .length
                }
            }
        }
        return states.map { GenerationResult(promptTokens: $0.request.promptTokens, tokens: $0.generated, finishReason: $0.finish ?? .length) }
    }
}

private struct SequenceState {
    let request: GenerationRequest
    let maxTokens: Int
    let blockTable: [Int32]
    var sampler: Sampler
    var tokens: [Int32]            // prompt, then generated
    var computed = 0               // tokens whose keys and values are in the cache
    var generated: [SampledToken] = []
    var finish: FinishReason?

    init(request: GenerationRequest, maxTokens: Int, blockTable: [Int32]) {
        self.request = request
        self.maxTokens = maxTokens
        self.blockTable = blockTable
        sampler = Sampler(request.parameters)
        tokens = request.promptTokens
    }
}
