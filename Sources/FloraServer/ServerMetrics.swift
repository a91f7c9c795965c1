// Prometheus metrics for /metrics, in the registry this server owns (tests get their own).
// The `vllm:` series are named as vLLM names them, because the Kubernetes Gateway API Inference
// Extension reads exactly these to route by queue length, KV-cache use and adapter affinity:
// `vllm:num_requests_waiting`, `vllm:num_requests_running`, `vllm:kv_cache_usage_perc`, and
// `vllm:lora_requests_info{max_lora, running_lora_adapters, waiting_lora_adapters}`, a gauge
// whose value is the Unix time of its last update and of which only the current label set exists.

import FloraEngine
import Foundation
import Prometheus
import Synchronization

public final class ServerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let running, waiting, kvCacheUsage, kvBlocksFree, kvBlocksTotal, adaptersResident, adaptersRegistered, adapterPins, mergedWeightBytes: Gauge
    private let promptTokens, generationTokens, preemptions: Counter
    private let timeToFirstToken, interTokenLatency, requestLatency: ValueHistogram
    private let finished: [FinishReason: Counter]
    private let state = Mutex(State())

    private struct State {
        var promptTokensSeen = 0
        var generationTokensSeen = 0
        var preemptionsSeen = 0
        var loraInfo: (gauge: Gauge, labels: [String])?
    }

    static let loraInfoName = "vllm:lora_requests_info"
    static let loraInfoHelp = "Running and waiting adapters (comma-separated names); the value is the Unix time of the last update."

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        running = registry.makeGauge(descriptor: Self.named("vllm:num_requests_running", "Requests in the running batch."))
        waiting = registry.makeGauge(descriptor: Self.named("vllm:num_requests_waiting", "Requests waiting to be scheduled."))
        kvCacheUsage = registry.makeGauge(descriptor: Self.named("vllm:kv_cache_usage_perc", "Fraction of KV-cache blocks in use (1 = full)."))
        kvBlocksFree = registry.makeGauge(descriptor: Self.named("flora_kv_blocks_free", "Free KV-cache blocks."))
        kvBlocksTotal = registry.makeGauge(descriptor: Self.named("flora_kv_blocks_total", "KV-cache blocks in the pool."))
        adaptersResident = registry.makeGauge(descriptor: Self.named("flora_adapters_resident", "Adapters held in memory."))
        adaptersRegistered = registry.makeGauge(descriptor: Self.named("flora_adapters_registered", "Adapters known by name."))
        adapterPins = registry.makeGauge(descriptor: Self.named("flora_adapter_pins", "Adapter pins held by running sequences (0 when idle)."))
        mergedWeightBytes = registry.makeGauge(
            descriptor: Self.named("flora_merged_weight_bytes", "Bytes of fLoRA merged weights kept across steps (--merged-weight-cache-mb bounds them)."))
        promptTokens = registry.makeCounter(descriptor: Self.named("vllm:prompt_tokens_total", "Prompt tokens accepted."))
        generationTokens = registry.makeCounter(descriptor: Self.named("vllm:generation_tokens_total", "Tokens generated."))
        preemptions = registry.makeCounter(descriptor: Self.named("vllm:num_preemptions_total", "Requests preempted to free KV blocks."))
        let latencyBuckets = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640]
        timeToFirstToken = registry.makeValueHistogram(
            descriptor: Self.named("vllm:time_to_first_token_seconds", "Time from arrival to the first token."), buckets: latencyBuckets)
        interTokenLatency = registry.makeValueHistogram(
            descriptor: Self.named("vllm:inter_token_latency_seconds", "Time between two tokens of one request."), buckets: latencyBuckets)
        requestLatency = registry.makeValueHistogram(
            descriptor: Self.named("vllm:e2e_request_latency_seconds", "Time from arrival to the last token."), buckets: latencyBuckets + [2560])
        finished = Dictionary(uniqueKeysWithValues: [FinishReason.stop, .length, .abort].map { reason in
            (reason, registry.makeCounter(
                descriptor: Self.named("vllm:request_success_total", "Finished requests by reason."), labels: [("finished_reason", reason.rawValue)]))
        })
    }

    /// A metric named exactly `name` (the `vllm:` names keep their colon).
    static func named(_ name: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help)
    }

    /// The engine's `onEvent`: latencies as they happen.
    public func record(_ event: EngineEvent) {
        switch event {
        case .timeToFirstToken(let seconds): timeToFirstToken.record(seconds)
        case .interTokenLatency(let seconds): interTokenLatency.record(seconds)
        case .requestFinished(let seconds, _, _, let reason):
            requestLatency.record(seconds)
            if let reason { finished[reason]?.increment() }
        case .step: break
        }
    }

    /// Brings the gauges and counters up to `snapshot` and renders the exposition text; the
    /// lock keeps a scrape from seeing the adapter gauge between its old and new label set.
    public func exposition(_ snapshot: EngineSnapshot, registeredAdapters: Int, maxLoras: Int, now: Date = Date()) -> String {
        state.withLock { state in
            running.set(Double(snapshot.runningRequests))
            waiting.set(Double(snapshot.waitingRequests))
            kvCacheUsage.set(snapshot.kvCacheUsage)
            kvBlocksFree.set(Double(snapshot.freeKVBlocks))
            kvBlocksTotal.set(Double(snapshot.totalKVBlocks))
            adaptersResident.set(Double(snapshot.residentAdapters.count))
            adaptersRegistered.set(Double(registeredAdapters))
            adapterPins.set(Double(snapshot.adapterPins))
            mergedWeightBytes.set(Double(snapshot.mergedWeightBytes))
            promptTokens.increment(by: Int64(max(0, snapshot.promptTokensTotal - state.promptTokensSeen)))
            generationTokens.increment(by: Int64(max(0, snapshot.generationTokensTotal - state.generationTokensSeen)))
            preemptions.increment(by: Int64(max(0, snapshot.preemptions - state.preemptionsSeen)))
            state.promptTokensSeen = max(state.promptTokensSeen, snapshot.promptTokensTotal)
            state.generationTokensSeen = max(state.generationTokensSeen, snapshot.generationTokensTotal)
            state.preemptionsSeen = max(state.preemptionsSeen, snapshot.preemptions)

            let labels = [String(maxLoras), snapshot.runningAdapters.joined(separator: ","), snapshot.waitingAdapters.joined(separator: ",")]
            if let current = state.loraInfo, current.labels != labels {
                registry.unregisterGauge(current.gauge)
                state.loraInfo = nil
            }
            if state.loraInfo == nil {
                let gauge = registry.makeGauge(
                    descriptor: Self.named(Self.loraInfoName, Self.loraInfoHelp),
                    labels: [("running_lora_adapters", labels[1]), ("max_lora", labels[0]), ("waiting_lora_adapters", labels[2])])
                state.loraInfo = (gauge, labels)
            }
            state.loraInfo?.gauge.set(now.timeIntervalSince1970)
            return registry.emitToString()
        }
    }
}
