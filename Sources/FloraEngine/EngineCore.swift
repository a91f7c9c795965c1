// The engine core (vLLM v1's EngineCore): one thread owns the scheduler, the KV block manager,
// the adapter cache with its bank, the model runner and every request's stream. Its loop:
//     take commands (new requests, cancellations, adapter changes, finished loads)
//     → schedule → start adapter loads → run the model once → sample → stream → update
//     → publish the state; sleep on the inbox when nothing can run.
// Adapter weights load on other threads; a finished load is a command like any other, so it
// wakes the core. Nothing else touches these objects, so none of them needs a lock.

import FloraAdapters
import FloraModel
import FloraTensor
import FloraTokenizer
import Foundation

final class EngineCore {
    let tokenizer: Tokenizer
    let config: EngineConfig
    let maxModelLength: Int
    let scheduler: Scheduler
    let blocks: KVBlockManager
    let adapters: AdapterCache<AdapterBank>
    let runner: any ModelRunner
    private let adapterSource: AdapterSource
    private let shapes: AdapterTargetShapes
    private let inbox: EngineInbox
    private let published: Published
    private let onEvent: (@Sendable (EngineEvent) -> Void)?
    let probabilities: FloatBuffer       // [vocab] sampler scratch
    let processedLogits: FloatBuffer     // [vocab] logits after a sequence's logits processors
    let maskedLogits: FloatBuffer        // [vocab] logits under a JSON constraint
    /// Built when the first request with a response_format arrives.
    lazy var tokenTrie = TokenTrie(tokenizer)

    var streams: [SequenceID: RequestStream] = [:]
    /// Streams that ended this pass: closed after the state is published, so a client that saw
    /// its stream end reads a snapshot where its request is gone.
    var ended: [(RequestStream.Continuation, EngineError?)] = []
    /// Mixtures the core registered, oldest first (`EngineCore+Mixtures.swift`).
    var mixtureNames: [String] = []
    /// Mixtures whose parts changed while requests used them.
    var staleMixtures: Set<String> = []
    private var paused = false
    private var pauseWaiters: [CheckedContinuation<Void, Never>] = []
    private var shutdown: (deadline: ContinuousClock.Instant?, waiters: [CheckedContinuation<Void, Never>])?
    private var promptTokensTotal = 0
    private var generationTokensTotal = 0

    init(
        model: EngineModel, tokenizer: Tokenizer, config: EngineConfig, blockCount: Int, maxModelLength: Int,
        adapters source: AdapterSource, inbox: EngineInbox, published: Published, onEvent: (@Sendable (EngineEvent) -> Void)?
    ) throws {
        self.tokenizer = tokenizer
        self.config = config
        self.maxModelLength = maxModelLength
        blocks = try KVBlockManager(blockCount: blockCount, blockSize: config.blockSize, enablePrefixCaching: config.enablePrefixCaching)
        let bank = try AdapterBank(capacity: config.maxResidentAdapters, shapes: model.adapterShapes)
        bank.loraKernel = config.loraKernel
        bank.groupMergePolicy = config.groupMerge
        bank.mergedWeightBudget = config.mergedWeightBytes
        adapters = try AdapterCache(maxResidentCount: config.maxResidentAdapters, maxResidentBytes: config.maxResidentAdapterBytes, store: bank)
        scheduler = try Scheduler(
            config: SchedulerConfig(
                maxNumSeqs: config.maxNumSeqs, maxNumBatchedTokens: config.maxNumBatchedTokens,
                maxModelLength: maxModelLength, maxLoras: config.maxLorasPerStep),
            blockManager: blocks, adapterGate: adapters)
        runner = model.makeRunner(blockCount, config.blockSize)
        adapterSource = source
        shapes = model.adapterShapes
        self.inbox = inbox
        self.published = published
        self.onEvent = onEvent
        probabilities = FloatBuffer(count: model.vocabularySize)
        processedLogits = FloatBuffer(count: model.vocabularySize)
        maskedLogits = FloatBuffer(count: model.vocabularySize)
    }

    // MARK: The loop

    func run() {
        while true {
            let commands = inbox.take()
            for command in commands { apply(command) }
            // Readers see a new request as waiting before the next forward, not after it: a
            // forward may be long, or held (PacedRunner) until a reader has seen this state.
            if !commands.isEmpty { publish() }
            if let shutdown, streams.isEmpty || shutdown.deadline.map({ ContinuousClock.now >= $0 }) == true {
                for id in Array(streams.keys) { end(id, reason: .abort) }
                publish()
                inbox.close()
                for waiter in shutdown.waiters { waiter.resume() }
                return
            }
            if !pauseWaiters.isEmpty {
                publish()   // the state the pause (or resume) left, before its caller goes on
                for waiter in pauseWaiters { waiter.resume() }
                pauseWaiters.removeAll()
            }
            guard scheduler.hasUnfinishedSequences, !paused else {
                publish()
                inbox.waitForWork()
                continue
            }
            let ran = step()
            publish()
            // Nothing could run: every waiting request waits for an adapter load, whose end is
            // posted to the inbox. With no load under way the next round can evict, so go on.
            if !ran, adapters.loadsInFlight > 0 { inbox.waitForWork() }
        }
    }

    private func apply(_ command: EngineCommand) {
        switch command {
        case .add(let id, let request, let arrival, let continuation):
            add(id: id, request, arrival: arrival, continuation: continuation)
        case .cancel(let id):
            if streams[id] != nil { end(id, reason: .abort) }
        case .register(let registration, let reply):
            do {
                try adapters.register(registration)
                blocks.removeCachedBlocks(adapterName: registration.name)
                forgetMixtures(using: registration.name)
                published.adapters.withLock { $0[registration.name] = registration }
                reply.resume()
            } catch {
                reply.resume(throwing: error)
            }
        case .unregister(let name, let reply):
            do {
                try adapters.unregister(name: name)
                blocks.removeCachedBlocks(adapterName: name)
                forgetMixtures(using: name)
                published.adapters.withLock { $0[name] = nil }
                reply.resume()
            } catch {
                reply.resume(throwing: error)
            }
        case .loadFinished(let request, let result):
            adapters.finishLoad(request, result: result)
            startLoads(adapters.takeQueuedLoads())
        case .pause(let pause, let waiter):
            paused = pause
            pauseWaiters.append(waiter)
        case .shutdown(let deadline, let waiter):
            var state = shutdown ?? (deadline: deadline, waiters: [])
            if let deadline { state.deadline = min(state.deadline ?? deadline, deadline) }
            if let waiter { state.waiters.append(waiter) }
            shutdown = state
        }
    }

    private func add(id: SequenceID, _ request: EngineRequest, arrival: ContinuousClock.Instant, continuation: RequestStream.Continuation) {
        do {
            guard shutdown == nil else { throw EngineError.shuttingDown }
            guard streams.count < config.maxQueuedRequests else { throw EngineError.queueFull(limit: config.maxQueuedRequests) }
            if let mixture = request.mixture { try register(mixture) }
            if let name = request.adapterName, adapters.registration(of: name) == nil { throw EngineError.unknownAdapter(name) }
            let maxTokens = min(request.parameters.maxTokens, maxModelLength - request.promptTokens.count)
            // The stream decides when the request finishes (RequestStream.accept); the scheduler
            // only stops a sequence at the model length, which `maxTokens` already respects.
            try scheduler.add(id: id, promptTokens: request.promptTokens, adapterName: request.adapterName)
            var stream = RequestStream(
                continuation: continuation, request: request, maxTokens: maxTokens, tokenizer: tokenizer, arrival: arrival)
            if let grammar = request.grammar {
                stream.constraint = JSONConstraint(grammar: grammar, trie: tokenTrie, stopTokens: stream.stopTokens)
            }
            streams[id] = stream
            promptTokensTotal += request.promptTokens.count
        } catch let error as SchedulerError {
            continuation.finish(throwing: EngineError.invalidRequest(error.description))
        } catch {
            continuation.finish(throwing: error)
        }
    }

    /// Runs each load on a background thread; its result comes back through the inbox.
    func startLoads(_ requests: [AdapterLoadRequest]) {
        for request in requests {
            let (source, shapes, inbox) = (adapterSource, shapes, inbox)
            DispatchQueue.global(qos: .userInitiated).async {
                let result = Result { () throws -> LoadedAdapter<AdapterWeights> in
                    let weights = try Self.load(request, from: source, shapes: shapes)
                    return LoadedAdapter(handle: weights, byteCount: weights.sizeInBytes)
                }
                inbox.post(.loadFinished(request, result))
            }
        }
    }

    // MARK: Ending requests

    /// Removes a request everywhere and sends its last piece.
    func end(_ id: SequenceID, reason: FinishReason) {
        scheduler.finish(id, reason: reason)
        guard var stream = streams.removeValue(forKey: id) else { return }
        stream.continuation.yield(stream.finish(reason))
        ended.append((stream.continuation, nil))
        report(finished: stream, reason: reason)
    }

    func fail(_ id: SequenceID, _ error: EngineError) {
        scheduler.finish(id, reason: .abort)
        guard let stream = streams.removeValue(forKey: id) else { return }
        ended.append((stream.continuation, error))
        report(finished: stream, reason: nil)
    }

    func report(finished stream: RequestStream, reason: FinishReason?) {
        emit(.requestFinished(
            seconds: (ContinuousClock.now - stream.arrival).seconds, promptTokens: stream.promptTokenCount,
            generatedTokens: stream.generated, reason: reason))
    }

    func emit(_ event: EngineEvent) { onEvent?(event) }

    // MARK: State

    /// Publishes the state, then closes the streams that ended.
    private func publish() {
        defer {
            for (continuation, error) in ended {
                if let error { continuation.finish(throwing: error) } else { continuation.finish() }
            }
            ended.removeAll(keepingCapacity: true)
        }
        let running = Set(scheduler.runningIDs.compactMap { scheduler.sequence($0)?.adapterName })
        let waiting = Set(scheduler.waitingIDs.compactMap { scheduler.sequence($0)?.adapterName })
        let snapshot = EngineSnapshot(
            runningRequests: scheduler.runningCount, waitingRequests: scheduler.waitingCount,
            kvCacheUsage: blocks.usage, freeKVBlocks: blocks.freeBlockCount, totalKVBlocks: blocks.blockCount,
            promptTokensTotal: promptTokensTotal, generationTokensTotal: generationTokensTotal,
            preemptions: scheduler.preemptionCount, prefixCacheHitTokens: blocks.prefixCacheHitTokens,
            prefixCacheMissTokens: blocks.prefixCacheMissTokens, registeredAdapters: adapters.registeredCount,
            residentAdapters: adapters.residentNames, runningAdapters: running.sorted(), waitingAdapters: waiting.sorted(),
            maxResidentAdapters: config.maxResidentAdapters, adapterPins: adapters.totalPins,
            mergedWeightBytes: adapters.store.mergedWeightBytes)
        published.snapshot.withLock { $0 = snapshot }
    }

    func countGenerated() { generationTokensTotal += 1 }
}

extension AdapterBank: AdapterSlotStore {
    public func install(_ handle: AdapterWeights, name: String, at slot: Int) throws {
        try install(handle, at: AdapterSlot(slot))
    }

    public func remove(slot: Int) {
        remove(AdapterSlot(slot))
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
