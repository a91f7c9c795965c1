// The serving engine (DESIGN.md section 4): requests stream in, and every step the scheduler
// picks tokens under the budget, the model runs them in one forward with each sequence's
// adapter, and the chosen tokens stream back. vLLM's loop: schedule() → run → update().

import FloraAdapters
import FloraModel
import FloraTensor
import FloraTokenizer
import Foundation

public actor Engine {
    public let model: LlamaModel
    public let tokenizer: Tokenizer
    public let config: EngineConfig
    /// Called for every measurement as it happens (time to first token, step times …).
    private let onEvent: (@Sendable (EngineEvent) -> Void)?

    let scheduler: Scheduler
    let blocks: KVBlockManager
    let adapters: AdapterCache<AdapterWeights>
    let bank: AdapterBank
    let cache: PagedKVCache
    let scratch: ForwardScratch
    let probabilities: FloatBuffer                // [vocab] sampler scratch
    var streams: [SequenceID: RequestStream] = [:]
    var cancelledBeforeStart: Set<RequestHandle> = []
    var sequenceOfHandle: [RequestHandle: SequenceID] = [:]
    var loop: Task<Void, Never>?
    var shuttingDown = false
    var promptTokensTotal = 0
    var generationTokensTotal = 0

    public init(
        model: LlamaModel, tokenizer: Tokenizer, config: EngineConfig = EngineConfig(),
        onEvent: (@Sendable (EngineEvent) -> Void)? = nil
    ) throws {
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        self.onEvent = onEvent
        let blockCount = max(1, config.kvCacheTokens / config.blockSize)
        blocks = try KVBlockManager(blockCount: blockCount, blockSize: config.blockSize, enablePrefixCaching: config.enablePrefixCaching)
        let shapes = model.adapterShapes
        adapters = try AdapterCache(maxResidentCount: config.maxResidentAdapters, maxResidentBytes: config.maxResidentAdapterBytes) { request in
            let weights = try AdapterLoader.load(folder: request.path, name: request.name, shapes: shapes)
            return LoadedAdapter(handle: weights, byteCount: weights.sizeInBytes)
        }
        scheduler = try Scheduler(
            config: SchedulerConfig(
                maxNumSeqs: config.maxNumSeqs, maxNumBatchedTokens: config.maxNumBatchedTokens,
                maxModelLength: min(model.config.contextLength, blockCount * config.blockSize),
                maxLoras: config.maxLorasPerStep),
            blockManager: blocks, adapterGate: adapters)
        bank = try AdapterBank(capacity: config.maxResidentAdapters, shapes: shapes)
        bank.loraKernel = config.loraKernel
        cache = PagedKVCache(config: model.config, blockCount: blockCount, blockSize: config.blockSize)
        scratch = ForwardScratch(config: model.config)
        probabilities = FloatBuffer(count: model.config.vocabularySize)
    }

    /// The longest prompt plus output a request may have, in tokens.
    public nonisolated var maxModelLength: Int { min(model.config.contextLength, (config.kvCacheTokens / config.blockSize) * config.blockSize) }

    // MARK: Adapters

    /// Makes `name` usable by requests; its folder is read when a request first needs it.
    public func registerAdapter(name: String, path: String) throws {
        try adapters.register(name: name, path: path)
        blocks.removeCachedBlocks(adapterName: name)
    }

    public func unregisterAdapter(name: String) throws {
        try adapters.unregister(name: name)
        blocks.removeCachedBlocks(adapterName: name)
    }

    public func isRegistered(adapter name: String) -> Bool { adapters.path(of: name) != nil }
    public var registeredAdapterNames: [String] { adapters.registeredNames }

    // MARK: Requests

    /// Starts a request; its outputs stream back as they are made. Cancelling the consuming
    /// task (a client that went away) aborts the request within one step and frees its blocks.
    public nonisolated func generate(_ request: EngineRequest) -> AsyncThrowingStream<EngineOutput, any Error> {
        let handle = RequestHandle()
        let arrival = ContinuousClock.now
        let (stream, continuation) = AsyncThrowingStream<EngineOutput, any Error>.makeStream()
        continuation.onTermination = { [weak self] termination in
            guard case .cancelled = termination, let self else { return }
            Task { await self.cancel(handle) }
        }
        Task { await self.submit(request, handle: handle, arrival: arrival, continuation: continuation) }
        return stream
    }

    private func submit(_ request: EngineRequest, handle: RequestHandle, arrival: ContinuousClock.Instant, continuation: RequestStream.Continuation) {
        if cancelledBeforeStart.remove(handle) != nil { continuation.finish(); return }
        do {
            guard !shuttingDown else { throw EngineError.shuttingDown }
            guard streams.count < config.maxQueuedRequests else { throw EngineError.queueFull(limit: config.maxQueuedRequests) }
            try request.parameters.validate()
            if let name = request.adapterName, adapters.path(of: name) == nil { throw EngineError.unknownAdapter(name) }
            let vocabulary = model.config.vocabularySize
            if let bad = request.promptTokens.first(where: { $0 < 0 || Int($0) >= vocabulary }) {
                throw EngineError.invalidRequest("token id \(bad) is outside the vocabulary of \(vocabulary)")
            }
            guard request.promptTokens.count < maxModelLength else {
                throw EngineError.invalidRequest("the prompt has \(request.promptTokens.count) tokens; this model's context holds \(maxModelLength) tokens, prompt and output together")
            }
            let maxTokens = min(request.parameters.maxTokens, maxModelLength - request.promptTokens.count)
            let id = try scheduler.add(promptTokens: request.promptTokens, adapterName: request.adapterName, maxTokens: maxTokens)
            streams[id] = RequestStream(continuation: continuation, handle: handle, request: request, tokenizer: tokenizer, arrival: arrival)
            sequenceOfHandle[handle] = id
            promptTokensTotal += request.promptTokens.count
            startLoop()
        } catch {
            continuation.finish(throwing: error)
        }
    }

    private func cancel(_ handle: RequestHandle) {
        guard let id = sequenceOfHandle[handle] else { cancelledBeforeStart.insert(handle); return }
        end(id, reason: .abort)
    }

    /// Removes a request everywhere and sends its last piece.
    func end(_ id: SequenceID, reason: FinishReason) {
        scheduler.finish(id, reason: reason)
        guard var stream = streams.removeValue(forKey: id) else { return }
        sequenceOfHandle[stream.handle] = nil
        stream.continuation.yield(stream.finish(reason))
        stream.continuation.finish()
        report(finished: stream, reason: reason)
    }

    func fail(_ id: SequenceID, _ error: EngineError) {
        scheduler.finish(id, reason: .abort)
        guard let stream = streams.removeValue(forKey: id) else { return }
        sequenceOfHandle[stream.handle] = nil
        stream.continuation.finish(throwing: error)
        report(finished: stream, reason: nil)
    }

    private func report(finished stream: RequestStream, reason: FinishReason?) {
        onEvent?(.requestFinished(
            seconds: (ContinuousClock.now - stream.arrival).seconds, promptTokens: stream.promptTokenCount,
            generatedTokens: stream.generated, reason: reason))
    }

    /// Stops taking requests, lets running ones finish for up to `timeout`, then aborts the rest.
    public func shutdown(timeout: Duration) async {
        shuttingDown = true
        let deadline = ContinuousClock.now + timeout
        while !streams.isEmpty, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        for id in Array(streams.keys) { end(id, reason: .abort) }
    }

    // MARK: State

    public func snapshot() -> EngineSnapshot {
        let running = Set(scheduler.runningIDs.compactMap { scheduler.sequence($0)?.adapterName })
        let waiting = Set(scheduler.waitingIDs.compactMap { scheduler.sequence($0)?.adapterName })
        return EngineSnapshot(
            runningRequests: scheduler.runningCount, waitingRequests: scheduler.waitingCount,
            kvCacheUsage: blocks.usage, freeKVBlocks: blocks.freeBlockCount, totalKVBlocks: blocks.blockCount,
            promptTokensTotal: promptTokensTotal, generationTokensTotal: generationTokensTotal,
            preemptions: scheduler.preemptionCount, prefixCacheHitTokens: blocks.prefixCacheHitTokens,
            prefixCacheMissTokens: blocks.prefixCacheMissTokens, registeredAdapters: adapters.registeredCount,
            residentAdapters: adapters.residentNames, runningAdapters: running.sorted(), waitingAdapters: waiting.sorted(),
            maxResidentAdapters: config.maxResidentAdapters)
    }

    // MARK: The loop

    private func startLoop() {
        guard loop == nil else { return }
        loop = Task { await self.runLoop() }
    }

    private func runLoop() async {
        while scheduler.hasUnfinishedSequences {
            let ranTokens = step()
            if ranTokens {
                await Task.yield()   // let new requests and cancellations in between steps
            } else {
                await adapters.waitForLoads()
                try? await Task.sleep(for: .milliseconds(1))
            }
        }
        loop = nil
    }

    func emit(_ event: EngineEvent) { onEvent?(event) }
}

/// A request's identity before the scheduler has given it a sequence id.
final class RequestHandle: Hashable, Sendable {
    static func == (a: RequestHandle, b: RequestHandle) -> Bool { a === b }
    func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
