// Running the server for real: the HTTP application and the engine service in one
// ServiceGroup that shuts down gracefully on SIGTERM and SIGINT.

import Hummingbird
import Logging
import ServiceLifecycle

extension FloraAPI {
    /// Serves until SIGTERM or SIGINT, then drains (see `EngineService`) and returns.
    /// `onServerRunning` gets the bound port (useful with port 0).
    public func serve(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        var logger = Logger(label: "flora.server")
        logger.logLevel = .warning
        let app = application(logger: logger, onServerRunning: onServerRunning)
        var group = ServiceGroupConfiguration(
            services: [.init(service: app), .init(service: EngineService(engine: engine, drainTimeout: configuration.drainTimeout))],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        // After the drain every response has ended; a client that stopped reading must not keep
        // the process alive, so shutdown escalates to cancellation a little later.
        group.maximumGracefulShutdownDuration = configuration.drainTimeout + .seconds(10)
        try await ServiceGroup(configuration: group).run()
    }
}
