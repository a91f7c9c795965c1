// /metrics: Prometheus text with the series the Gateway API Inference Extension reads, the
// adapter gauge carrying only its current label set.

import FloraEngine
import FloraServer
import FloraTestSupport
import Foundation
import HummingbirdTesting
import Testing

/// One sample line of the exposition text.
struct Sample: Equatable {
    var name: String
    var labels: [String: String]
    var value: Double

    static func parse(_ text: String) -> [Sample] {
        text.split(separator: "\n").compactMap { line -> Sample? in
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { return nil }
            let series = line[..<space]
            guard let brace = series.firstIndex(of: "{") else { return Sample(name: String(series), labels: [:], value: value) }
            var labels: [String: String] = [:]
            // Label values here hold no quotes or commas inside quotes other than list separators.
            let body = series[series.index(after: brace)..<series.index(before: series.endIndex)]
            var rest = Substring(body)
            while let equals = rest.firstIndex(of: "=") {
                let key = String(rest[..<equals])
                let afterQuote = rest.index(equals, offsetBy: 2)
                let close = rest[afterQuote...].firstIndex(of: "\"")!
                labels[key] = String(rest[afterQuote..<close])
                rest = rest[rest.index(after: close)...]
                if rest.first == "," { rest = rest.dropFirst() }
            }
            return Sample(name: String(series[..<brace]), labels: labels, value: value)
        }
    }
}

@Suite struct MetricsTests {
    @Test func theGatewaySeriesFollowRunningAndWaitingAdapters() async throws {
        // One sequence at a time: the second adapter's request waits while the first runs.
        let pace = Pace()
        let server = try await TestServer.make(
            engineConfig: EngineConfig(maxNumSeqs: 1, maxNumBatchedTokens: 64, kvCacheTokens: 1024, maxResidentAdapters: 4), adapterCount: 2, pace: pace)
        let (a, b) = (server.adapterNames[0], server.adapterNames[1])
        let first = server.engine.generate(EngineRequest(promptTokens: bytesOf("one"), parameters: SamplingParameters(maxTokens: 300), adapterName: a))
        var firstIterator = first.makeAsyncIterator()
        // Its adapter loads, then one step: the first request runs. The second arrives only now
        // (sent together, the adapter that finished loading first would decide which one runs),
        // and the core, already holding before its next step, takes it in after that step.
        pace.step()
        _ = try await firstIterator.next()
        let second = server.engine.generate(EngineRequest(promptTokens: bytesOf("two"), parameters: SamplingParameters(maxTokens: 5), adapterName: b))
        pace.step()
        _ = try await firstIterator.next()
        let held = await eventually { server.engine.snapshot().waitingRequests == 1 && server.engine.snapshot().runningRequests == 1 }
        guard held else {
            pace.open()
            Issue.record("the engine never showed one request running and one waiting: \(server.engine.snapshot())")
            return
        }

        try await server.withRouter { client in
            let response = try await client.get("/metrics")
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let samples = Sample.parse(response.text)
            let value = { (name: String) in samples.first { $0.name == name }?.value }
            #expect(value("vllm:num_requests_running") == 1)
            #expect(value("vllm:num_requests_waiting") == 1)
            #expect((value("vllm:kv_cache_usage_perc") ?? 0) > 0)
            let info = samples.filter { $0.name == "vllm:lora_requests_info" }
            #expect(info.count == 1)
            #expect(info.first?.labels == ["running_lora_adapters": a, "waiting_lora_adapters": b, "max_lora": "4"])
            #expect(abs((info.first?.value ?? 0) - Date().timeIntervalSince1970) < 60)
        }
        pace.open()
        while try await firstIterator.next() != nil {}
        for try await _ in second {}
        _ = await server.waitUntilIdle()

        try await server.withRouter { client in
            let samples = Sample.parse(try await client.get("/metrics").text)
            let info = samples.filter { $0.name == "vllm:lora_requests_info" }
            #expect(info.count == 1, "the old label set must not linger")
            #expect(info.first?.labels == ["running_lora_adapters": "", "waiting_lora_adapters": "", "max_lora": "4"])
            let value = { (name: String) in samples.first { $0.name == name }?.value }
            #expect(value("vllm:num_requests_running") == 0)
            #expect(value("vllm:kv_cache_usage_perc") == 0)
            #expect(value("flora_kv_blocks_free") == value("flora_kv_blocks_total"))
            #expect(value("vllm:prompt_tokens_total") == 6)
            #expect(value("vllm:generation_tokens_total") == 305)
            #expect(value("vllm:time_to_first_token_seconds_count") == 2)
            #expect(value("vllm:e2e_request_latency_seconds_count") == 2)
            #expect((value("vllm:inter_token_latency_seconds_count") ?? 0) > 0)
            #expect(value("flora_adapters_registered") == 2)
            #expect(value("flora_adapters_resident") == 2)
            #expect(value("flora_merged_weight_bytes") != nil)
        }
    }

    @Test func eachServerHasItsOwnRegistry() async throws {
        let one = try await TestServer.make(adapterCount: 0)
        let two = try await TestServer.make(adapterCount: 0)
        try await one.withRouter { client in _ = try await client.post("/v1/completions", json: #"{"prompt": "abc", "max_tokens": 2}"#) }
        try await two.withRouter { client in
            let samples = Sample.parse(try await client.get("/metrics").text)
            #expect(samples.first { $0.name == "vllm:prompt_tokens_total" }?.value == 0)
        }
    }
}
