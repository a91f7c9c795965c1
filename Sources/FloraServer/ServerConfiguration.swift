// The server's settings: what `flora serve` parses and what tests set in memory.

public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// The name clients use for the base model in `model` (`--served-model-name`, or the file name).
    public var servedModelName: String
    /// The model's file or folder, reported as the base model's `root` in /v1/models.
    public var modelPath: String
    /// When not empty, every route but /health and /metrics wants `Authorization: Bearer <key>`
    /// with one of these keys.
    public var apiKeys: [String]
    /// `--adapter-dir`: the only folder under which /v1/load_lora_adapter may load adapters
    /// (symbolic links and `..` resolved first). Nil refuses every load by path.
    public var adapterRoot: String?
    /// Largest request body accepted, in bytes (larger ones get 413).
    public var maxBodyBytes: Int
    /// How long SIGTERM lets running requests finish before they are aborted.
    public var drainTimeout: Duration
    public var limits: ServerLimits

    public init(
        host: String = "127.0.0.1", port: Int = 8000, servedModelName: String, modelPath: String = "",
        apiKey: String? = nil, apiKeys: [String] = [], adapterRoot: String? = nil, maxBodyBytes: Int = 4 << 20,
        drainTimeout: Duration = .seconds(30), limits: ServerLimits = ServerLimits()
    ) {
        self.host = host
        self.port = port
        self.servedModelName = servedModelName
        self.modelPath = modelPath
        self.apiKeys = apiKeys + (apiKey.map { [$0] } ?? [])
        self.adapterRoot = adapterRoot
        self.maxBodyBytes = maxBodyBytes
        self.drainTimeout = drainTimeout
        self.limits = limits
    }
}
