import ArgumentParser
import FloraAdapters
import FloraEngine
import FloraModel
import FloraServer
import Foundation

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the model over an OpenAI-compatible HTTP API, each request with its own adapter.",
        discussion: """
            Every folder directly under --adapter-dir is registered by its folder name at start; a folder that \
            does not load is skipped with a warning. While serving, a request naming a folder that appeared under \
            --adapter-dir registers it on the spot, and a folder removed from it is forgotten once no request uses \
            it (--no-adapter-autoload turns this off). /v1/load_lora_adapter loads only folders inside --adapter-dir \
            (symbolic links and '..' resolved; a relative lora_path is taken inside it); without --adapter-dir it \
            refuses every load. --api-key guards every route but /health and /metrics. SIGTERM or SIGINT stops \
            taking requests, lets running ones finish for up to --drain-seconds, then exits 0.
            """)

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var engineOptions: EngineOptions

    @Option(name: .long, help: "Address to listen on (loopback by default).")
    var host = "127.0.0.1"

    @Option(name: .long, help: "Port to listen on (0 picks a free one).")
    var port = 8000

    @Option(name: .long, help: "Register every adapter folder inside this directory by its folder name; /v1/load_lora_adapter may load only from here.")
    var adapterDir: String?

    @Flag(name: .long, inversion: .prefixedNo,
          help: "Serve folders that appear under --adapter-dir while running, and forget ones removed from it.")
    var adapterAutoload = true

    @Option(name: .long, help: "The base model's name in requests and /v1/models (default: the model file's name).")
    var servedModelName: String?

    @Option(name: .long, help: "Require 'Authorization: Bearer KEY' on every route but /health and /metrics (repeat for several keys).")
    var apiKey: [String] = []

    @Option(name: .long, help: "Most tokens one request may ask for (larger max_tokens get 400; the default for requests that name none).")
    var maxTokensLimit: Int?

    @Option(name: .long, help: "Most HTTP requests handled at once, streams until their last byte (more get 503 with Retry-After).")
    var maxConcurrentRequests: Int?

    @Option(name: .long, help: "Most requests per minute per API key, as a token bucket (more get 429 with Retry-After).")
    var rateLimit: Int?

    @Option(name: .long, help: "Most requests queued or running; more get 429.")
    var maxQueue = 1024

    @Option(name: .long, help: "Largest request body, in bytes (larger ones get 413).")
    var maxBodyBytes = 4 << 20

    @Option(name: .long, help: "On SIGTERM, seconds running requests may take to finish before they are aborted.")
    var drainSeconds = 30

    func validate() throws {
        if maxQueue < 1 { throw ValidationError("--max-queue must be at least 1, got \(maxQueue)") }
        if maxBodyBytes < 1024 { throw ValidationError("--max-body-bytes must be at least 1024, got \(maxBodyBytes)") }
        if !(0...65535).contains(port) { throw ValidationError("--port must be in 0...65535, got \(port)") }
        if drainSeconds < 0 { throw ValidationError("--drain-seconds must be ≥ 0, got \(drainSeconds)") }
        for (name, value) in [("--max-tokens-limit", maxTokensLimit), ("--max-concurrent-requests", maxConcurrentRequests), ("--rate-limit", rateLimit)] {
            if let value, value < 1 { throw ValidationError("\(name) must be at least 1, got \(value)") }
        }
        if apiKey.contains(where: \.isEmpty) { throw ValidationError("--api-key must not be empty") }
    }

    func run() async throws {
        let path = try modelOptions.resolvedPath()
        let loaded = try ModelLoader.load(path: path, products: modelOptions.products)
        guard let model = loaded.model else { throw ValidationError("the model has no weights") }
        var engineConfig = engineOptions.engineConfig
        engineConfig.maxQueuedRequests = maxQueue
        let metrics = ServerMetrics()
        let engine = try Engine(model: model, tokenizer: loaded.tokenizer, config: engineConfig, onEvent: metrics.record)
        let configuration = ServerConfiguration(
            host: host, port: port, servedModelName: servedModelName ?? loaded.name, modelPath: path, apiKeys: apiKey,
            adapterRoot: adapterDir, maxBodyBytes: maxBodyBytes, drainTimeout: .seconds(drainSeconds),
            limits: ServerLimits(maxTokensPerRequest: maxTokensLimit, maxConcurrentRequests: maxConcurrentRequests, requestsPerMinutePerKey: rateLimit))
        let catalog = try await AdapterCatalog(engine: engine, baseModelName: configuration.servedModelName, adapterRoot: adapterDir, autoload: adapterAutoload)
        for (name, adapterPath) in try engineOptions.namedAdapters() {
            do {
                try await catalog.register(name: name, path: adapterPath)
            } catch {
                throw ValidationError("--adapter \(name)=\(adapterPath): \(error.message)")
            }
        }
        for (folder, reason) in await catalog.registerAdapterDirectory() {
            log("warning: skipped adapter folder '\(folder)': \(reason)")
        }
        let api = await FloraAPI(engine: engine, catalog: catalog, metrics: metrics, configuration: configuration)
        let adapterCount = catalog.adapters.count
        let served = configuration.servedModelName
        let host = host
        try await api.serve { port in
            log("flora: serving \(served) with \(adapterCount) adapter(s) on http://\(host):\(port)")
        }
        log("flora: stopped")
    }
}

private func log(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
