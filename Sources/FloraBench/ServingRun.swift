// One benchmark run: a workload through a fresh Engine on a shared model, every request timed
// from the client's side as vLLM's serving benchmark does (submission → first token → last).

import FloraAdapters
import FloraEngine
import FloraModel
import FloraTokenizer
import Foundation

/// The engine settings of a serving benchmark (the rest of `EngineConfig` is derived per run).
public struct ServingEngineSettings: Sendable, Equatable {
    public var maxNumSeqs: Int
    public var maxNumBatchedTokens: Int
    public var kvCacheTokens: Int
    public var enablePrefixCaching: Bool
    /// Adapter-bank slots; nil: as many as the run's workload uses, so nothing is evicted.
    public var maxResidentAdapters: Int?

    public init(
        maxNumSeqs: Int = EngineDefaults.maxNumSeqs, maxNumBatchedTokens: Int = EngineDefaults.maxNumBatchedTokens,
        kvCacheTokens: Int = EngineDefaults.kvCacheTokens,
        enablePrefixCaching: Bool = true, maxResidentAdapters: Int? = nil
    ) {
        self.maxNumSeqs = maxNumSeqs
        self.maxNumBatchedTokens = maxNumBatchedTokens
        self.kvCacheTokens = kvCacheTokens
        self.enablePrefixCaching = enablePrefixCaching
        self.maxResidentAdapters = maxResidentAdapters
    }

    func config(method: BenchMethod, adapterCount: Int, requestCount: Int) -> EngineConfig {
        EngineConfig(
            maxNumSeqs: maxNumSeqs, maxNumBatchedTokens: maxNumBatchedTokens, kvCacheTokens: kvCacheTokens,
            enablePrefixCaching: enablePrefixCaching, maxResidentAdapters: maxResidentAdapters ?? max(1, adapterCount),
            maxResidentAdapterBytes: 1 << 40, loraKernel: method.loraKernel,
            maxQueuedRequests: requestCount + adapterCount + 16, groupMerge: method.groupMerge,
            mergedWeightBytes: method.mergedWeightBytes)
    }
}

/// One request as its client saw it.
public struct RequestMeasurement: Sendable, Equatable {
    public var promptTokens: Int
    public var outputTokens: Int
    /// Seconds from submission to the first generated token.
    public var timeToFirstToken: Double
    /// Seconds from submission to the last piece.
    public var latency: Double
    /// Seconds between consecutive generated tokens.
    public var interTokenLatencies: [Double]

    /// The fLoRA paper's latency metric: end-to-end latency divided by the output length.
    public var secondsPerOutputToken: Double { latency / Double(max(1, outputTokens)) }
}

/// One run of a workload.
public struct RunMeasurement: Sendable, Equatable {
    /// Wall-clock seconds from the first submission to the last token.
    public var seconds: Double
    public var requests: [RequestMeasurement]

    public var promptTokens: Int { requests.reduce(0) { $0 + $1.promptTokens } }
    public var outputTokens: Int { requests.reduce(0) { $0 + $1.outputTokens } }
    public var outputTokensPerSecond: Double { Double(outputTokens) / seconds }
    public var totalTokensPerSecond: Double { Double(promptTokens + outputTokens) / seconds }
}

/// A model shared by every run, and what runs need around it.
public struct ServingHarness: Sendable {
    public let model: any CausalLanguageModel
    /// The model's tokenizer without stop tokens, so that every request generates exactly its
    /// output length (vLLM's `ignore_eos`): methods then do the same work.
    public let tokenizer: Tokenizer
    /// Ordinary token ids prompts are drawn from.
    public let promptTokenIds: [Int32]

    public init(model: any CausalLanguageModel, tokenizer: Tokenizer) throws {
        guard tokenizer.vocabularySize <= model.dimensions.vocabularySize else {
            throw BenchError.invalidArgument(
                "the tokenizer has \(tokenizer.vocabularySize) tokens, the model's vocabulary only \(model.dimensions.vocabularySize)")
        }
        self.model = model
        promptTokenIds = Workload.ordinaryTokenIds(of: tokenizer)
        self.tokenizer = tokenizer.ignoringStopTokens()
    }

    /// Runs `workload` on a fresh engine. `adapterPaths[i]` is the folder of pool adapter `i`
    /// (ignored for the base model). With `warmUp`, every adapter the workload uses is made
    /// resident (one 1-token request each) before the clock starts. With `arrivals`, requests
    /// are submitted at their Poisson arrival times; otherwise all at once.
    public func run(
        _ workload: Workload, method: BenchMethod, adapterPaths: [String], engine settings: ServingEngineSettings,
        warmUp: Bool = true, arrivals: Bool = false
    ) async throws -> RunMeasurement {
        let used = method.adapterKind == nil ? [] : workload.distinctAdapters
        if let missing = used.first(where: { $0 >= adapterPaths.count }) {
            throw BenchError.invalidArgument("the workload uses adapter \(missing) of its pool, but only \(adapterPaths.count) were given")
        }
        let config = settings.config(method: method, adapterCount: used.count, requestCount: workload.requests.count)
        let engine = try Engine(model: model, tokenizer: tokenizer, config: config)
        if let index = workload.requests.firstIndex(where: { $0.promptTokens.count + $0.outputTokens > engine.maxModelLength }) {
            let r = workload.requests[index]
            throw BenchError.invalidArgument(
                "request \(index) has \(r.promptTokens.count) prompt and \(r.outputTokens) output tokens; this engine holds "
                    + "\(engine.maxModelLength) per request (raise --kv-cache-tokens or lower --scale)")
        }
        for i in used { try await engine.registerAdapter(name: Self.adapterName(i), path: adapterPaths[i]) }
        let requests = workload.requests.map { r in
            EngineRequest(
                promptTokens: r.promptTokens, parameters: SamplingParameters(temperature: 0, maxTokens: r.outputTokens, chosenLogprob: false),
                adapterName: method.adapterKind == nil ? nil : Self.adapterName(r.adapter))
        }
        if warmUp {
            let token = promptTokenIds[0]
            let probes = ([nil] + used.map { Optional(Self.adapterName($0)) }).map {
                EngineRequest(promptTokens: [token], parameters: SamplingParameters(maxTokens: 1), adapterName: $0)
            }
            _ = try await submit(probes, to: engine, arrivals: nil)
        }
        let (seconds, measured) = try await submit(requests, to: engine, arrivals: arrivals ? workload.requests.map(\.arrivalSeconds) : nil)
        await engine.shutdown(timeout: .zero)
        return RunMeasurement(seconds: seconds, requests: measured)
    }

    static func adapterName(_ index: Int) -> String { "bench-\(index)" }

    /// Submits every request (at its arrival offset, when given) and waits for all of them.
    private func submit(
        _ requests: [EngineRequest], to engine: Engine, arrivals: [Double]?
    ) async throws -> (seconds: Double, requests: [RequestMeasurement]) {
        let start = ContinuousClock.now
        let measured = try await withThrowingTaskGroup(of: (Int, RequestMeasurement).self) { group in
            for (index, request) in requests.enumerated() {
                if let arrivals {
                    try await Task.sleep(until: start + .seconds(arrivals[index]), clock: .continuous)
                }
                let submitted = ContinuousClock.now
                let stream = engine.generate(request)
                group.addTask { (index, try await Self.consume(stream, submitted: submitted, request: index)) }
            }
            var results = [RequestMeasurement?](repeating: nil, count: requests.count)
            for try await (index, measurement) in group { results[index] = measurement }
            return results.compactMap { $0 }
        }
        return ((ContinuousClock.now - start).seconds, measured)
    }

    private static func consume(
        _ stream: AsyncThrowingStream<EngineOutput, any Error>, submitted: ContinuousClock.Instant, request: Int
    ) async throws -> RequestMeasurement {
        var measurement = RequestMeasurement(promptTokens: 0, outputTokens: 0, timeToFirstToken: 0, latency: 0, interTokenLatencies: [])
        var last: ContinuousClock.Instant?
        do {
            for try await piece in stream {
                let now = ContinuousClock.now
                measurement.promptTokens = piece.promptTokenCount
                let count = piece.tokens.count
                guard count > 0 else { continue }
                if let last {
                    // A piece normally holds one token; several share the gap evenly.
                    let gap = (now - last).seconds / Double(count)
                    measurement.interTokenLatencies += Array(repeating: gap, count: count)
                } else {
                    measurement.timeToFirstToken = (now - submitted).seconds
                    if count > 1 { measurement.interTokenLatencies += Array(repeating: 0, count: count - 1) }
                }
                last = now
                measurement.outputTokens += count
            }
        } catch {
            throw BenchError.runFailed("request \(request) failed: \(error)")
        }
        measurement.latency = (ContinuousClock.now - submitted).seconds
        return measurement
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
