// What goes into the engine and what comes out of it: requests, streamed outputs, errors,
// settings and the measurements a server exports.

import FloraAdapters

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
    /// Most requests waiting or running; more are refused with `EngineError.queueFull`.
    public var maxQueuedRequests: Int

    public init(
        maxNumSeqs: Int = 64, maxNumBatchedTokens: Int = 512, kvCacheTokens: Int = 32_768, blockSize: Int = 16,
        enablePrefixCaching: Bool = true, maxResidentAdapters: Int = 64, maxResidentAdapterBytes: Int = 2 << 30,
        maxLorasPerStep: Int? = nil, loraKernel: LoRAKernel = .segmented, maxQueuedRequests: Int = 4096
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
    }
}

public struct EngineRequest: Sendable {
    public var promptTokens: [Int32]
    public var parameters: SamplingParameters
    /// A registered adapter's name, or nil for the base model.
    public var adapterName: String?

    public init(promptTokens: [Int32], parameters: SamplingParameters, adapterName: String? = nil) {
        self.promptTokens = promptTokens
        self.parameters = parameters
        self.adapterName = adapterName
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
    case failed(String)

    public var description: String {
        switch self {
        case .unknownAdapter(let name): "no adapter named '\(name)' is registered"
        case .adapterFailed(let name, let message): "adapter '\(name)' could not be loaded: \(message)"
        case .invalidRequest(let detail): detail
        case .queueFull(let limit): "the server is busy: \(limit) requests are queued or running"
        case .shuttingDown: "the server is shutting down"
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
