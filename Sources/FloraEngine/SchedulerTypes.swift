// The small value types the scheduler exchanges with the engine: its configuration, what one
// step computes, and why a sequence left. Nothing here holds a tensor.

/// A sequence (one request's prompt and its generated tokens) inside the scheduler.
public struct SequenceID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static func < (a: SequenceID, b: SequenceID) -> Bool { a.rawValue < b.rawValue }
    public var description: String { "seq\(rawValue)" }
}

/// vLLM's scheduler limits, under vLLM's names.
public struct SchedulerConfig: Sendable, Equatable {
    /// Sequences in the running set at once (the batch's width).
    public var maxNumSeqs: Int
    /// Tokens computed by one step, prompt chunks and decode tokens together.
    public var maxNumBatchedTokens: Int
    /// Prompt plus generated tokens of one sequence; a sequence that reaches it finishes with `.length`.
    public var maxModelLength: Int?
    /// Distinct adapters in the running set at once (vLLM's `max_loras`); nil: no limit.
    public var maxLoras: Int?

    public init(
        maxNumSeqs: Int = EngineDefaults.maxNumSeqs, maxNumBatchedTokens: Int = EngineDefaults.maxNumBatchedTokens,
        maxModelLength: Int? = nil, maxLoras: Int? = nil
    ) {
        self.maxNumSeqs = maxNumSeqs
        self.maxNumBatchedTokens = maxNumBatchedTokens
        self.maxModelLength = maxModelLength
        self.maxLoras = maxLoras
    }

    public func validate() throws(SchedulerError) {
        guard maxNumSeqs >= 1 else { throw .invalidConfiguration("max_num_seqs must be ≥ 1, got \(maxNumSeqs)") }
        guard maxNumBatchedTokens >= 1 else {
            throw .invalidConfiguration("max_num_batched_tokens must be ≥ 1, got \(maxNumBatchedTokens)")
        }
        if let maxModelLength, maxModelLength < 2 {
            throw .invalidConfiguration("max_model_len must be ≥ 2 (one prompt token and one generated), got \(maxModelLength)")
        }
        if let maxLoras, maxLoras < 1 { throw .invalidConfiguration("max_loras must be ≥ 1, got \(maxLoras)") }
    }
}

/// One sequence's share of a step: compute the tokens at positions `tokenRange` into the KV
/// blocks of `blockTable`, and sample a next token when `wantsLogits`.
public struct ScheduledSequence: Sendable, Equatable {
    public var id: SequenceID
    /// Positions computed this step; the positions before it are in the KV cache already.
    public var tokenRange: Range<Int>
    /// The token ids at those positions.  [tokenRange.count]
    public var tokens: [Int32]
    /// True when the range reaches the sequence's last token, so the step yields its next-token logits.
    public var wantsLogits: Bool
    /// KV blocks of positions `[i·blockSize, (i+1)·blockSize)`, covering at least `0..<tokenRange.upperBound`.
    public var blockTable: [Int32]
    /// The adapter of every token of this sequence; nil for the base model.
    public var adapterName: String?

    public init(id: SequenceID, tokenRange: Range<Int>, tokens: [Int32], wantsLogits: Bool, blockTable: [Int32], adapterName: String?) {
        self.id = id
        self.tokenRange = tokenRange
        self.tokens = tokens
        self.wantsLogits = wantsLogits
        self.blockTable = blockTable
        self.adapterName = adapterName
    }
}

/// How a sequence that the scheduler removed on its own ended.
public enum SequenceOutcome: Sendable, Equatable {
    /// It reached its `maxTokens` or the model length (`.length`).
    case finished(FinishReason)
    /// It can never run: it needs more KV blocks than the pool holds, or its adapter failed to load.
    case failed(String)
}

public struct FinishedSequence: Sendable, Equatable {
    public var id: SequenceID
    public var outcome: SequenceOutcome
    public init(id: SequenceID, outcome: SequenceOutcome) {
        self.id = id
        self.outcome = outcome
    }
}

/// What one step computes, and what the scheduler did to make room.
public struct SchedulerOutput: Sendable, Equatable {
    /// Running sequences in admission order, then the ones admitted this step.
    public var scheduled: [ScheduledSequence] = []
    /// Running sequences sent back to the front of the waiting queue; they recompute later.
    public var preempted: [SequenceID] = []
    /// Sequences removed with a failure this step; they are gone from the scheduler.
    public var finished: [FinishedSequence] = []

    public init() {}

    public var scheduledTokenCount: Int { scheduled.reduce(0) { $0 + $1.tokenRange.count } }
    public var isEmpty: Bool { scheduled.isEmpty }
}

/// A read-only view of one sequence, for the engine and for tests.
public struct SequenceSnapshot: Sendable, Equatable {
    public var id: SequenceID
    public var promptTokenCount: Int
    /// Prompt, then generated tokens.
    public var tokens: [Int32]
    /// Tokens whose keys and values are in the KV cache.
    public var computedTokenCount: Int
    public var adapterName: String?
    public var isRunning: Bool
    public var generatedTokens: ArraySlice<Int32> { tokens[promptTokenCount...] }
}

public enum SchedulerError: Error, CustomStringConvertible, Sendable, Equatable {
    case invalidConfiguration(String)
    case emptyPrompt
    case invalidMaxTokens(Int)
    case promptTooLong(tokens: Int, maxModelLength: Int)
    case promptExceedsKVCache(tokens: Int, blocksNeeded: Int, blockCount: Int)
    case duplicateID(SequenceID)

    public var description: String {
        switch self {
        case .invalidConfiguration(let detail): detail
        case .emptyPrompt: "the prompt is empty: at least one token is needed"
        case .invalidMaxTokens(let n): "max_tokens must be ≥ 1, got \(n)"
        case .promptTooLong(let n, let limit):
            "the prompt has \(n) tokens; the model length is \(limit), and at least one token must be generated"
        case .duplicateID(let id): "a sequence with id \(id) is already present"
        case .promptExceedsKVCache(let n, let needed, let count):
            "the prompt has \(n) tokens and needs \(needed) KV blocks; the pool holds \(count)"
        }
    }
}
