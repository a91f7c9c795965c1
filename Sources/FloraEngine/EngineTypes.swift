// What goes into the engine and what comes out of it: requests, streamed outputs, errors,
// settings and the measurements a server exports.

import FloraAdapters

/// Every default of the engine's settings, in one place: the engine, the scheduler, the command
/// line and the benchmarks read them from here.
public enum EngineDefaults {
    public static let maxNumSeqs = 64
    public static let maxNumBatchedTokens = 512
    public static let kvCacheTokens = 32_768
    public static let blockSize = 16
    public static let maxResidentAdapters = 64
    public static let maxResidentAdapterBytes = 2 << 30
    public static let loraKernel = LoRAKernel.segmented
    public static let maxQueuedRequests = 4096
    /// fLoRA merged weights kept across steps (AdapterBank.mergedWeightBudget): room for about
    /// ten SmolLM2-135M adapters on q, k, v and o (106 MB each).
    public static let mergedWeightBytes = 1 << 30
}

public struct EngineConfig: Sendable, Equatable {
    /// Most sequences in one step.
    public var maxNumSeqs: Int
    /// Most tokens computed in one step (chunked prefill splits longer prompts).
    public var maxNumBatchedTokens: Int
    /// Size of the KV block pool, in tokens.
    public var kvCacheTokens: Int
    public var blockSize: Int
    public var enablePrefixCaching: Bool
    /// Adapters held in memory at once (slots of the adapter bank).
    public var maxResidentAdapters: Int
    public var maxResidentAdapterBytes: Int
    /// Most distinct adapters in one step (vLLM's max_loras); nil: as many as are resident.
    public var maxLorasPerStep: Int?
    public var loraKernel: LoRAKernel
    /// How groups of tokens sharing one fLoRA adapter are computed (AdapterBank+GroupMerge.swift).
    public var groupMerge: GroupMergePolicy
    /// Most bytes of fLoRA merged weights kept across steps (MergedWeightCache.swift); 0 keeps none.
    public var mergedWeightBytes: Int
    /// Most requests waiting or running; more are refused with `EngineError.queueFull`.
    public var maxQueuedRequests: Int

    public init(
        maxNumSeqs: Int = EngineDefaults.maxNumSeqs, maxNumBatchedTokens: Int = EngineDefaults.maxNumBatchedTokens,
        kvCacheTokens: Int = EngineDefaults.kvCacheTokens, blockSize: Int = EngineDefaults.blockSize,
        enablePrefixCaching: Bool = true, maxResidentAdapters: Int = EngineDefaults.maxResidentAdapters,
        maxResidentAdapterBytes: Int = EngineDefaults.maxResidentAdapterBytes, maxLorasPerStep: Int? = nil,
        loraKernel: LoRAKernel = EngineDefaults.loraKernel, maxQueuedRequests: Int = EngineDefaults.maxQueuedRequests,
        groupMerge: GroupMergePolicy = .processDefault, mergedWeightBytes: Int = EngineDefaults.mergedWeightBytes
    ) {
        self.maxNumSeqs = maxNumSeqs
        self.maxNumBatchedTokens = maxNumBatchedTokens
        self.kvCacheTokens = kvCacheTokens
        self.blockSize = blockSize
        self.enablePrefixCaching = enablePrefixCaching
        self.maxResidentAdapters = maxResidentAdapters
        self.maxResidentAdapterBytes = maxResidentAdapterBytes
        self.maxLorasPerStep = maxLorasPerStep
        self.loraKernel = loraKernel
        self.maxQueuedRequests = maxQueuedRequests
        self.groupMerge = groupMerge
        self.mergedWeightBytes = mergedWeightBytes
    }

    /// Throws an error naming the setting and the accepted range.
    public func validate() throws {
        func require(_ ok: Bool, _ message: @autoclosure () -> String) throws {
            if !ok { throw EngineError.invalidConfiguration(message()) }
        }
        try require(blockSize >= 1, "block_size must be ≥ 1, got \(blockSize)")
        try require(kvCacheTokens >= blockSize, "the KV cache must hold at least one block of \(blockSize) tokens, got \(kvCacheTokens) tokens")
        try require(maxQueuedRequests >= 1, "max_queued_requests must be ≥ 1, got \(maxQueuedRequests)")
        try require(maxResidentAdapters >= 1, "max_loras (resident adapters) must be ≥ 1, got \(maxResidentAdapters)")
        try require(mergedWeightBytes >= 0, "the merged-weight budget must be ≥ 0 bytes, got \(mergedWeightBytes)")
    }
}

public struct EngineRequest: Sendable {
    public var promptTokens: [Int32]
    public var parameters: SamplingParameters
    /// A registered adapter's name, or nil for the base model; for a mixture, its name.
    public var adapterName: String?
    /// Registered adapters with weights, served as one adapter (`AdapterMixture`); nil otherwise.
    public private(set) var mixture: AdapterMixture?
    /// The JSON the output must be (response_format), enforced token by token; nil: any text.
    public var grammar: JSONGrammar?

    public init(promptTokens: [Int32], parameters: SamplingParameters, adapterName: String? = nil, grammar: JSONGrammar? = nil) {
        self.promptTokens = promptTokens
        self.parameters = parameters
        self.adapterName = adapterName
        self.grammar = grammar
    }

    /// A request for a mixture of registered adapters; one part of weight 1 is that adapter.
    public init(promptTokens: [Int32], parameters: SamplingParameters, mixture: AdapterMixture) {
        self.promptTokens = promptTokens
        self.parameters = parameters
        if mixture.parts.count == 1, mixture.parts[0].weight == 1 {
            adapterName = mixture.parts[0].name
        } else {
            adapterName = mixture.name
            self.mixture = mixture
        }
    }
}

/// One piece of a request's stream: the tokens chosen since the last piece and their text
/// (held back while it could still turn into a stop string or half a character). The last
/// piece carries the finish reason.
public struct EngineOutput: Sendable {
    public var tokens: [SampledToken]
    public var text: String
    public var finishReason: FinishReason?
    public var promptTokenCount: Int
    public var generatedTokenCount: Int
}

public enum EngineError: Error, CustomStringConvertible, Sendable, Equatable {
    case unknownAdapter(String)
    case adapterFailed(name: String, message: String)
    case invalidRequest(String)
    case queueFull(limit: Int)
    case shuttingDown
    case invalidConfiguration(String)
    case failed(String)

    public var description: String {
        switch self {
        case .unknownAdapter(let name): "no adapter named '\(name)' is registered"
        case .adapterFailed(let name, let message): message.contains("'\(name)'") ? message : "adapter '\(name)' could not be loaded: \(message)"
        case .invalidRequest(let detail): detail
        case .queueFull(let limit): "the server is busy: \(limit) requests are queued or running"
        case .shuttingDown: "the server is shutting down"
        case .invalidConfiguration(let detail): "invalid engine configuration: \(detail)"
        case .failed(let detail): detail
        }
    }
}

/// Measurements the engine reports as they happen, for a metrics exporter.
public enum EngineEvent: Sendable {
    case timeToFirstToken(seconds: Double)
    case interTokenLatency(seconds: Double)
    case requestFinished(seconds: Double, promptTokens: Int, generatedTokens: Int, reason: FinishReason?)
    case step(seconds: Double, promptTokens: Int, decodeTokens: Int)
}

/// The engine's state at one moment.
public struct EngineSnapshot: Sendable {
    public var runningRequests: Int
    public var waitingRequests: Int
    public var kvCacheUsage: Double
    public var freeKVBlocks: Int
    public var totalKVBlocks: Int
    public var promptTokensTotal: Int
    public var generationTokensTotal: Int
    public var preemptions: Int
    public var prefixCacheHitTokens: Int
    public var prefixCacheMissTokens: Int
    public var registeredAdapters: Int
    public var residentAdapters: [String]
    public var runningAdapters: [String]
    public var waitingAdapters: [String]
    public var maxResidentAdapters: Int
    /// Adapter pins held by running sequences (a leak shows as a non-zero count when idle).
    public var adapterPins: Int = 0
    /// Bytes of fLoRA merged weights kept across steps (at most `EngineConfig.mergedWeightBytes`).
    public var mergedWeightBytes: Int = 0
}

/// Why a request's output ended (OpenAI's `finish_reason`).
public enum FinishReason: String, Sendable, Equatable {
    /// A stop token or stop string.
    case stop
    /// `max_tokens` or the model's context.
    case length
    /// The client went away or the server stopped it.
    case abort
}
