// The serving engine (DESIGN.md section 4), vLLM v1's shape: one engine-core thread owns the
// scheduler, the KV block manager, the adapter cache and bank, and the model runner, and loops
// schedule → run the model → update (EngineCore.swift). This type is the API side: it gives
// every request its identity and output stream, posts requests, cancellations and adapter
// changes to the core's inbox, and reads the state the core publishes after each step. Nothing
// here waits for a forward pass.

import FloraAdapters
import FloraModel
import FloraTokenizer
import Foundation
import Synchronization

public final class Engine: Sendable {
    public let tokenizer: Tokenizer
    public let config: EngineConfig
    public let vocabularySize: Int
    /// The base model's dimensions every adapter must match.
    public let adapterShapes: AdapterTargetShapes
    /// The longest prompt plus output a request may have, in tokens.
    public let maxModelLength: Int

    private let inbox = EngineInbox()
    private let published: Published
    private let nextRequestID = Atomic<Int>(0)
    private let inspectAdapter: @Sendable (String) throws -> AdapterManifest?

    /// An engine serving `model` (a `LlamaModel` or a `GPTBigCodeModel`).
    public convenience init(
        model: any CausalLanguageModel, tokenizer: Tokenizer, config: EngineConfig = EngineConfig(),
        onEvent: (@Sendable (EngineEvent) -> Void)? = nil
    ) throws {
        try self.init(
            model: EngineModel(model), tokenizer: tokenizer, config: config, adapters: .folders(baseWeights: model), onEvent: onEvent)
    }

    /// An engine serving any model runner, with adapters read by `adapters`.
    public init(
        model: EngineModel, tokenizer: Tokenizer, config: EngineConfig = EngineConfig(),
        adapters: AdapterSource = .folders, onEvent: (@Sendable (EngineEvent) -> Void)? = nil
    ) throws {
        try config.validate()
        let blockCount = max(1, config.kvCacheTokens / config.blockSize)
        self.tokenizer = tokenizer
        self.config = config
        vocabularySize = model.vocabularySize
        adapterShapes = model.adapterShapes
        maxModelLength = min(model.contextLength, blockCount * config.blockSize)
        let shapes = model.adapterShapes
        inspectAdapter = { path in try adapters.inspect(path, shapes) }
        published = Published(config: config, blockCount: blockCount)

        // The core is built on its own thread, which then owns it; building can fail only for a
        // configuration `validate` let through, which is reported here.
        let started = CoreStart()
        let (inbox, published, maxModelLength) = (inbox, published, maxModelLength)
        let thread = Thread {
            do {
                let core = try EngineCore(
                    model: model, tokenizer: tokenizer, config: config, blockCount: blockCount, maxModelLength: maxModelLength,
                    adapters: adapters, inbox: inbox, published: published, onEvent: onEvent)
                started.report(nil)
                core.run()
            } catch {
                started.report(error)
            }
        }
        thread.name = "flora-engine-core"
        thread.stackSize = 8 << 20
        thread.start()
        if let error = started.wait() { throw error }
    }

    /// Lets the requests still running finish, then ends the core thread.
    deinit {
        inbox.post(.shutdown(deadline: nil, nil))
    }

    // MARK: Requests

    /// Starts a request; its outputs stream back as they are made. Cancelling the consuming
    /// task (a client that went away) aborts the request within one step and frees its blocks.
    public func generate(_ request: EngineRequest) -> AsyncThrowingStream<EngineOutput, any Error> {
        let arrival = ContinuousClock.now
        let (stream, continuation) = AsyncThrowingStream<EngineOutput, any Error>.makeStream()
        do {
            try validate(request)
        } catch {
            continuation.finish(throwing: error)
            return stream
        }
        let id = SequenceID(rawValue: nextRequestID.wrappingAdd(1, ordering: .relaxed).oldValue)
        inbox.post(.add(id: id, request, arrival: arrival, continuation))
        let inbox = self.inbox
        continuation.onTermination = { termination in
            if case .cancelled = termination { inbox.post(.cancel(id)) }
        }
        return stream
    }

    /// What can be checked without the core: parameters, token ids and length.
    private func validate(_ request: EngineRequest) throws {
        try request.parameters.validate()
        if let bad = request.promptTokens.first(where: { $0 < 0 || Int($0) >= vocabularySize }) {
            throw EngineError.invalidRequest("token id \(bad) is outside the vocabulary of \(vocabularySize)")
        }
        let parameters = request.parameters
        if let bad = (parameters.stopTokenIds + parameters.logitBias.keys.sorted()).first(where: { $0 < 0 || Int($0) >= vocabularySize }) {
            throw EngineError.invalidRequest("token id \(bad) in stop_token_ids or logit_bias is outside the vocabulary of \(vocabularySize)")
        }
        guard !request.promptTokens.isEmpty else { throw EngineError.invalidRequest("the prompt is empty: at least one token is needed") }
        guard request.promptTokens.count < maxModelLength else {
            throw EngineError.invalidRequest("the prompt has \(request.promptTokens.count) tokens; this model's context holds \(maxModelLength) tokens, prompt and output together")
        }
    }

    // MARK: Adapters

    /// Makes `name` usable by requests. Reads only the folder's config and safetensors header
    /// (checked against the model); the weights are read when a request first needs them.
    public func registerAdapter(name: String, path: String) async throws {
        let registration = AdapterRegistration(name: name, path: path, manifest: try inspectAdapter(path))
        try await withCheckedThrowingContinuation { inbox.post(.register(registration, $0)) }
    }

    /// Forgets `name`; refused while running requests use it.
    public func unregisterAdapter(name: String) async throws {
        try await withCheckedThrowingContinuation { inbox.post(.unregister(name: name, $0)) }
    }

    /// Registered adapters by name, as of the last change.
    public var adapters: [String: AdapterRegistration] { published.adapters.withLock { $0 } }
    public func isRegistered(adapter name: String) -> Bool { published.adapters.withLock { $0[name] != nil } }
    public var registeredAdapterNames: [String] { adapters.keys.sorted() }

    // MARK: State

    /// The engine's state after its last step.
    public func snapshot() -> EngineSnapshot { published.snapshot.withLock { $0 } }

    /// Stops running steps until `resume()` (vLLM's pause_generation): running requests keep
    /// their state and new ones queue. Returns once the core has stopped, with every request
    /// posted before this call queued and the snapshot up to date.
    public func pause() async {
        await withCheckedContinuation { inbox.post(.pause(true, $0)) }
    }

    public func resume() async {
        await withCheckedContinuation { inbox.post(.pause(false, $0)) }
    }

    /// Stops taking requests, lets running ones finish for up to `timeout`, then aborts the rest.
    public func shutdown(timeout: Duration) async {
        let deadline = ContinuousClock.now + timeout
        await withCheckedContinuation { inbox.post(.shutdown(deadline: deadline, $0)) }
    }
}

/// How an engine reads adapters: `inspect` checks a folder at registration (from what is cheap
/// to read), `load` reads its weights when a request first needs them (off the core thread).
public struct AdapterSource: Sendable {
    public var inspect: @Sendable (_ path: String, _ shapes: AdapterTargetShapes) throws -> AdapterManifest?
    public var load: @Sendable (_ request: AdapterLoadRequest, _ shapes: AdapterTargetShapes) throws -> AdapterWeights

    public init(
        inspect: @escaping @Sendable (_ path: String, _ shapes: AdapterTargetShapes) throws -> AdapterManifest?,
        load: @escaping @Sendable (_ request: AdapterLoadRequest, _ shapes: AdapterTargetShapes) throws -> AdapterWeights
    ) {
        self.inspect = inspect
        self.load = load
    }

    /// PEFT folders on disk; folders of one recipe are checked once (`AdapterInspector`). DoRA
    /// folders are refused at load: their norm needs the base weights (`folders(baseWeights:)`).
    public static let folders: AdapterSource = folders(baseWeights: nil)

    /// PEFT folders on disk, DoRA's norms computed from `baseWeights` (the served model).
    public static func folders(baseWeights: (any AdapterBaseWeights)?) -> AdapterSource {
        let inspector = AdapterInspector()
        return AdapterSource(
            inspect: { path, shapes in try inspector.inspect(folder: path, shapes: shapes) },
            load: { request, shapes in
                try AdapterLoader.load(folder: request.path, name: request.name, shapes: shapes, baseWeights: baseWeights)
            })
    }
}

/// The core thread's word on whether it could build the core.
private final class CoreStart: Sendable {
    private let error = Mutex<(any Error)?>(nil)
    private let done = DispatchSemaphore(value: 0)
    func report(_ failure: (any Error)?) {
        error.withLock { $0 = failure }
        done.signal()
    }
    func wait() -> (any Error)? {
        done.wait()
        return error.withLock { $0 }
    }
}

/// What the core publishes for the API side to read without waiting for it.
final class Published: Sendable {
    let snapshot: Mutex<EngineSnapshot>
    let adapters = Mutex<[String: AdapterRegistration]>([:])

    init(config: EngineConfig, blockCount: Int) {
        snapshot = Mutex(EngineSnapshot(
            runningRequests: 0, waitingRequests: 0, kvCacheUsage: 0, freeKVBlocks: blockCount, totalKVBlocks: blockCount,
            promptTokensTotal: 0, generationTokensTotal: 0, preemptions: 0, prefixCacheHitTokens: 0, prefixCacheMissTokens: 0,
            registeredAdapters: 0, residentAdapters: [], runningAdapters: [], waitingAdapters: [],
            maxResidentAdapters: config.maxResidentAdapters))
    }
}
