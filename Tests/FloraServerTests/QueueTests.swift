// --max-queue: a request beyond the bound is refused with 429, streaming or not.

import FloraEngine
import FloraServer
import Foundation
import HummingbirdTesting
import Testing

@Suite struct QueueTests {
    @Test func aFullQueueAnswers429() async throws {
        let config = EngineConfig(maxNumSeqs: 4, maxNumBatchedTokens: 64, kvCacheTokens: 1024, maxQueuedRequests: 1)
        let server = try await TestServer.make(engineConfig: config, adapterCount: 0)
        await server.engine.pause()   // the long request stays queued while the server answers
        let long = server.engine.generate(EngineRequest(promptTokens: bytesOf("long"), parameters: SamplingParameters(maxTokens: 400)))
        var iterator = long.makeAsyncIterator()
        try await server.withRouter { client in
            expectError(try await client.post("/v1/completions", json: #"{"prompt": "x", "max_tokens": 2}"#), .tooManyRequests, type: "RateLimitError")
            expectError(try await client.post("/v1/chat/completions", json: #"{"messages": [{"role": "user", "content": "x"}], "stream": true}"#),
                        .tooManyRequests, type: "RateLimitError")
        }
        await server.engine.resume()
        while try await iterator.next() != nil {}
        try await server.withRouter { client in
            let response = try await client.post("/v1/completions", json: #"{"prompt": "x", "max_tokens": 2}"#)
            #expect(response.status == .ok)
        }
    }
}
