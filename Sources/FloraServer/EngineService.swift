// The engine as a service: it runs until graceful shutdown (SIGTERM, SIGINT), then stops
// taking requests (new ones get 503), lets running ones finish for up to the drain timeout,
// and aborts the rest. Listed after the HTTP application in the ServiceGroup, it shuts down
// first, so by the time the server stops its connections every response has ended.

import FloraEngine
import ServiceLifecycle

public struct EngineService: Service {
    let engine: Engine
    let drainTimeout: Duration

    public init(engine: Engine, drainTimeout: Duration) {
        self.engine = engine
        self.drainTimeout = drainTimeout
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await engine.shutdown(timeout: drainTimeout)
    }
}
