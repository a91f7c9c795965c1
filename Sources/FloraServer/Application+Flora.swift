// The application, built by one function that `flora serve` and the tests both call.

import Hummingbird
import Logging

extension FloraAPI {
    /// Every route, with the error and API-key middlewares in front.
    public func router() -> Router<FloraRequestContext> {
        let router = Router(context: FloraRequestContext.self)
        router.add(middleware: OpenAIErrorMiddleware())
        if !configuration.apiKeys.isEmpty { router.add(middleware: APIKeyMiddleware(keys: configuration.apiKeys)) }
        if configuration.limits.maxConcurrentRequests != nil || configuration.limits.requestsPerMinutePerKey != nil {
            router.add(middleware: RequestLimitsMiddleware(limits: configuration.limits))
        }
        router.get("/health", use: health)
        router.get("/metrics", use: metricsText)
        router.get("/v1/models", use: models)
        router.post("/v1/completions", use: completions)
        router.post("/v1/chat/completions", use: chatCompletions)
        router.post("/v1/load_lora_adapter", use: loadAdapter)
        router.post("/v1/unload_lora_adapter", use: unloadAdapter)
        router.post("/tokenize", use: tokenize)
        router.post("/detokenize", use: detokenize)
        return router
    }

    /// The HTTP application on `configuration.host:port`; run it (with `EngineService`) in a ServiceGroup.
    public func application(logger: Logger = Logger(label: "flora.server"), onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            router: router(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "flora"),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }
}
