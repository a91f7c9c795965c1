// Graceful shutdown: the engine service stops new requests (503) and lets running ones finish.

import FloraEngine
import FloraServer
import Foundation
import HummingbirdTesting
import ServiceLifecycle
import Testing

@Suite struct ShutdownTests {
    @Test func theEngineServiceDrainsRunningRequestsOnGracefulShutdown() async throws {
        let server = try await TestServer.make(adapterCount: 0)
        let service = EngineService(engine: server.engine, drainTimeout: .seconds(20))
        let group = ServiceGroup(configuration: .init(services: [service], logger: .init(label: "test")))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            let running = server.engine.generate(EngineRequest(promptTokens: bytesOf("drain"), parameters: SamplingParameters(maxTokens: 120)))
            var iterator = running.makeAsyncIterator()
            _ = try await iterator.next()
            await group.triggerGracefulShutdown()
            var generated = 0, reason: FinishReason?
            while let piece = try await iterator.next() {
                generated = piece.generatedTokenCount
                reason = piece.finishReason ?? reason
            }
            #expect(generated == 120 && reason == .length, "the running request finished")
            try await tasks.waitForAll()
        }
        try await server.withRouter { client in
            expectError(try await client.post("/v1/completions", json: #"{"prompt": "late"}"#), .serviceUnavailable, type: "ServiceUnavailableError")
        }
    }
}
