// The limits an operator sets (--max-tokens-limit, --max-concurrent-requests, --rate-limit): each
// refusal names its limit and says when to retry, and probes are never limited.

import FloraServer
import FloraEngine
import FloraTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Testing

@Suite struct RequestLimitsTests {
    @Test func maxTokensAboveTheLimitIs400AndTheLimitIsTheDefault() async throws {
        let server = try await TestServer.make(adapterCount: 0, limits: ServerLimits(maxTokensPerRequest: 4))
        try await server.withRouter { client in
            let over = try await client.post("/v1/completions", json: #"{"prompt": "hello", "max_tokens": 5}"#)
            expectError(over, .badRequest, type: "BadRequestError", param: "max_tokens")
            #expect(over.text.contains("limit of 4 tokens per request (--max-tokens-limit)"))
            let chat = try await client.post("/v1/chat/completions", json: #"{"messages": [{"role": "user", "content": "hi"}]}"#)
            #expect(chat.status == .ok)
            #expect(chat.json[path: "usage", "completion_tokens"] as? Int == 4)
        }
    }

    @Test func eachAPIKeyHasItsOwnBucketAndProbesAreNeverLimited() async throws {
        let server = try await TestServer.make(adapterCount: 0, apiKeys: ["alpha", "beta"], limits: ServerLimits(requestsPerMinutePerKey: 3))
        try await server.withRouter { client in
            func tokenize(_ key: String) async throws -> TestResponse {
                try await client.post("/tokenize", json: #"{"prompt": "hi"}"#, headers: [.authorization: "Bearer \(key)"])
            }
            for _ in 0..<3 { #expect(try await tokenize("alpha").status == .ok) }
            let limited = try await tokenize("alpha")
            expectError(limited, .tooManyRequests, type: "RateLimitError", param: nil)
            #expect(limited.text.contains("at most 3 requests per minute per API key"))
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 >= 1)
            #expect(try await tokenize("beta").status == .ok)
            #expect(try await tokenize("nobody").status == .unauthorized)
            for _ in 0..<5 { #expect(try await client.get("/health").status == .ok) }
        }
    }

    @Test func aTokenBucketRefillsAtItsRate() {
        let state = RequestLimitsState()
        let start = ContinuousClock.now
        for _ in 0..<60 { #expect(state.take(key: "k", perMinute: 60, now: start) == nil) }
        #expect(state.take(key: "k", perMinute: 60, now: start) == 1)
        #expect(state.take(key: "k", perMinute: 60, now: start + .milliseconds(1500)) == nil)
        #expect(state.take(key: "k", perMinute: 60, now: start + .milliseconds(1500)) == 1)
        #expect(state.take(key: "other", perMinute: 60, now: start) == nil)
        for _ in 0..<6 { #expect(state.take(key: "slow", perMinute: 6, now: start) == nil) }
        #expect(state.take(key: "slow", perMinute: 6, now: start) == 10)  // 6 a minute: one every 10 s
    }

    @Test(arguments: [false, true])
    func requestsBeyondTheConcurrencyLimitAre503UntilTheRunningOneEnds(stream: Bool) async throws {
        let pace = Pace()
        let server = try await TestServer.make(adapterCount: 0, pace: pace, limits: ServerLimits(maxConcurrentRequests: 1))
        try await server.withLiveServer { client in
            let port = try #require(client.port)
            // The held request on a connection of its own; it is answered once three steps ran.
            let body = #"{"prompt": "hold", "max_tokens": 3, "stream": \#(stream)}"#
            let held = Task { await RawHTTPClient.postAndHangUp(port: port, path: "/v1/completions", body: body, readBytes: 12, timeoutSeconds: 30) }
            #expect(await eventually { server.engine.snapshot().runningRequests + server.engine.snapshot().waitingRequests == 1 })
            let refused = try await client.post("/v1/completions", json: #"{"prompt": "x", "max_tokens": 1}"#)
            expectError(refused, .serviceUnavailable, type: "ServiceUnavailableError", param: nil)
            #expect(refused.text.contains("limit of 1 concurrent requests") && refused.headers[.retryAfter] == "1")
            pace.open()
            #expect(await held.value.hasPrefix("HTTP/1.1 200"))
            #expect(await eventually { server.engine.snapshot().runningRequests + server.engine.snapshot().waitingRequests == 0 })
            // Released once the held response was written (a stream at its last byte).
            var after = try await client.post("/v1/completions", json: #"{"prompt": "x", "max_tokens": 1}"#)
            for _ in 0..<100 where after.status == .serviceUnavailable {
                try await Task.sleep(for: .milliseconds(10))
                after = try await client.post("/v1/completions", json: #"{"prompt": "x", "max_tokens": 1}"#)
            }
            #expect(after.status == .ok)
        }
    }
}
