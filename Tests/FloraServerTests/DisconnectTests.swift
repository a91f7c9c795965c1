// A client that goes away aborts its request: the engine frees its KV blocks within a step,
// whether the client was streaming, waiting for a whole answer, or still queued.

import FloraEngine
import FloraServer
import FloraTestSupport
import Foundation
import HummingbirdTesting
import Testing

@Suite struct DisconnectTests {
    @Test(arguments: [true, false])
    func aClientThatHangsUpFreesItsBlocks(streaming: Bool) async throws {
        // The core gets 400 steps, fewer than the request's 480 tokens, however slow the machine
        // is at noticing the hang-up: only an abort can end the request.
        let pace = Pace()
        let server = try await TestServer.make(adapterCount: 1, pace: pace)
        let stepper = Task {
            for _ in 0..<400 where !Task.isCancelled {
                pace.step()
                try? await Task.sleep(for: .milliseconds(2))
            }
        }
        defer { stepper.cancel() }
        let adapter = server.adapterNames[0]
        try await server.withLiveServer { client in
            let port = try #require(client.port)
            let body = #"{"model": "\#(adapter)", "prompt": "a long story", "max_tokens": 480, "temperature": 0, "stream": \#(streaming)}"#
            // Streaming: read the head and a few chunks, then hang up. Whole answer: hang up at once.
            let read = await RawHTTPClient.postAndHangUp(port: port, path: "/v1/completions", body: body, readBytes: streaming ? 600 : 0)
            if streaming { #expect(read.hasPrefix("HTTP/1.1 200"), "\(read.prefix(200))") }
            let snapshot = await server.waitUntilIdle()
            #expect(snapshot.runningRequests == 0 && snapshot.waitingRequests == 0)
            #expect(snapshot.freeKVBlocks == snapshot.totalKVBlocks)
            #expect(snapshot.generationTokensTotal < 480, "the request was aborted, not run to its end")
            // Other clients are not disturbed.
            pace.open()
            let after = try await client.post("/v1/completions", json: #"{"prompt": "still here", "max_tokens": 3}"#)
            #expect(after.status == .ok)
        }
    }

    @Test func aQueuedClientThatHangsUpLeavesTheQueue() async throws {
        // One sequence at a time, and a first request long enough to hold the only place.
        let config = EngineConfig(maxNumSeqs: 1, maxNumBatchedTokens: 64, kvCacheTokens: 8192)
        let server = try await TestServer.make(engineConfig: config, adapterCount: 0, contextLength: 8192)
        let holder = Task {
            for try await _ in server.engine.generate(EngineRequest(promptTokens: bytesOf("first"), parameters: SamplingParameters(maxTokens: 8000))) {}
        }
        defer { holder.cancel() }
        try await server.withLiveServer { client in
            let port = try #require(client.port)
            // The second request queues behind the first; its client gives up after a second without an answer.
            let body = #"{"prompt": "second", "max_tokens": 5, "stream": true}"#
            let hangUp = Task { await RawHTTPClient.postAndHangUp(port: port, path: "/v1/completions", body: body, readBytes: 1, timeoutSeconds: 1) }
            var sawQueued = false
            for _ in 0..<100 where !sawQueued {
                sawQueued = await server.engine.snapshot().waitingRequests == 1
                try await Task.sleep(for: .milliseconds(10))
            }
            #expect(sawQueued)
            #expect(await hangUp.value.isEmpty, "a queued stream sends nothing yet")
            var snapshot = await server.engine.snapshot()
            for _ in 0..<200 where snapshot.waitingRequests > 0 {
                try await Task.sleep(for: .milliseconds(10))
                snapshot = await server.engine.snapshot()
            }
            #expect(snapshot.waitingRequests == 0, "the gone client's request left the queue")
            #expect(snapshot.runningRequests == 1, "while the first request still runs")
        }
        holder.cancel()
        let snapshot = await server.waitUntilIdle()
        #expect(snapshot.freeKVBlocks == snapshot.totalKVBlocks)
        #expect(snapshot.generationTokensTotal < 8000)
    }
}
