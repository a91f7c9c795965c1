// A Flora server on the tiny random model, built in memory as `flora serve` builds it, and
// small helpers to send JSON and read OpenAI-shaped answers and server-sent events.

import FloraAdapters
import FloraEngine
import FloraModel
import FloraServer
import FloraTestSupport
import FloraTokenizer
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

struct TestServer {
    let api: FloraAPI
    let engine: Engine
    let model: LlamaModel
    /// `--adapter-dir`, with the adapters registered at start.
    let adapterRoot: String
    let adapterNames: [String]

    static let baseName = "tiny-base"

    static func make(
        engineConfig: EngineConfig = EngineConfig(maxNumSeqs: 16, maxNumBatchedTokens: 128, kvCacheTokens: 2048, maxResidentAdapters: 4),
        apiKey: String? = nil, adapterCount: Int = 3, kinds: [AdapterKind] = AdapterKind.allCases, withAdapterRoot: Bool = true,
        maxBodyBytes: Int = 64 * 1024, contextLength: Int = TinyModels.config.contextLength, pace: Pace? = nil,
        apiKeys: [String] = [], limits: ServerLimits = ServerLimits(), adapterSource: AdapterSource? = nil, adapterAutoload: Bool = true
    ) async throws -> TestServer {
        var modelConfig = TinyModels.config
        modelConfig.contextLength = contextLength
        let model = try TinyModels.model(modelConfig)
        let root = try TestFiles.scratchDirectory()
        let names = try TinyModels.writeRandomAdapters(count: adapterCount, to: root, model: model, kinds: kinds)
        let metrics = ServerMetrics()
        let served = pace.map { EngineModel(model).paced(by: $0) } ?? EngineModel(model)
        let engine = try Engine(model: served, tokenizer: tokenizer(), config: engineConfig, adapters: adapterSource ?? .folders(baseWeights: model), onEvent: metrics.record)
        let configuration = ServerConfiguration(
            host: "127.0.0.1", port: 0, servedModelName: baseName, modelPath: "/models/tiny", apiKey: apiKey,
            apiKeys: apiKeys, adapterRoot: withAdapterRoot ? root : nil, maxBodyBytes: maxBodyBytes, drainTimeout: .seconds(5),
            limits: limits)
        let catalog = try await AdapterCatalog(engine: engine, baseModelName: baseName, adapterRoot: configuration.adapterRoot, autoload: adapterAutoload)
        if withAdapterRoot {
            let skipped = await catalog.registerAdapterDirectory()
            #expect(skipped.isEmpty, "\(skipped)")
        }
        let api = await FloraAPI(engine: engine, catalog: catalog, metrics: metrics, configuration: configuration)
        return TestServer(api: api, engine: engine, model: model, adapterRoot: root, adapterNames: names)
    }

    /// The tiny byte tokenizer without a stop token, so every request runs to `max_tokens` and
    /// lengths in the tests are exact (token 256 is a plain special token here).
    static func tokenizer() throws -> Tokenizer {
        var tokens = (0..<256).map { String(ByteLevel.characters[$0]) }
        tokens.append("<|pad|>")
        return try Tokenizer(TokenizerSpec(tokens: tokens, merges: [], addedTokens: [AddedToken(content: "<|pad|>", id: 256, special: true)]))
    }

    /// Runs `test` against the router directly (no sockets).
    func withRouter<Value: Sendable>(_ test: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await api.application().test(.router) { client in try await test(client) }
    }

    /// Runs `test` against a live server on a free loopback port.
    func withLiveServer<Value: Sendable>(_ test: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        try await api.application().test(.live) { client in try await test(client) }
    }

    /// Waits (bounded) until the engine has no request and every KV block is free.
    func waitUntilIdle(seconds: Double = 10) async -> EngineSnapshot {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        var snapshot = await engine.snapshot()
        while ContinuousClock.now < deadline {
            snapshot = await engine.snapshot()
            if snapshot.runningRequests == 0, snapshot.waitingRequests == 0, snapshot.freeKVBlocks == snapshot.totalKVBlocks { break }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return snapshot
    }
}

extension TestClientProtocol {
    func post(_ uri: String, json: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: .post, headers: headers.merging([.contentType: "application/json"]), body: ByteBuffer(string: json))
    }

    func post(_ uri: String, bytes: [UInt8]) async throws -> TestResponse {
        try await execute(uri: uri, method: .post, body: ByteBuffer(bytes: bytes))
    }

    func get(_ uri: String, headers: HTTPFields = [:]) async throws -> TestResponse {
        try await execute(uri: uri, method: .get, headers: headers)
    }
}

extension HTTPFields {
    func merging(_ other: HTTPFields) -> HTTPFields {
        var merged = self
        for field in other where merged[field.name] == nil { merged.append(field) }
        return merged
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }

    /// The body as a JSON object (an empty one when it is not one, so the checks that follow fail).
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:] }

    /// The `data:` payloads of a server-sent-event stream, in order.
    var events: [String] {
        text.components(separatedBy: "\n\n").filter { !$0.isEmpty }.map { event in
            event.hasPrefix("data: ") ? String(event.dropFirst(6)) : "<not a data line: \(event)>"
        }
    }

    /// The JSON events before `[DONE]`.
    var eventObjects: [[String: Any]] {
        events.filter { $0 != "[DONE]" }.map { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] ?? [:] }
    }
}

/// Checks an OpenAI-shaped error: status, `type`, `param`, and that all four fields are there.
func expectError(_ response: TestResponse, _ status: HTTPResponse.Status, type: String, param: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(response.status == status, "body: \(response.text)", sourceLocation: sourceLocation)
    guard let error = response.json["error"] as? [String: Any] else {
        Issue.record("no error object in \(response.text)", sourceLocation: sourceLocation)
        return
    }
    #expect(Set(error.keys) == ["message", "type", "param", "code"], sourceLocation: sourceLocation)
    #expect(error["type"] as? String == type, sourceLocation: sourceLocation)
    #expect(error["code"] as? Int == Int(status.code), sourceLocation: sourceLocation)
    #expect((error["message"] as? String)?.isEmpty == false, sourceLocation: sourceLocation)
    if let param {
        #expect(error["param"] as? String == param, "body: \(response.text)", sourceLocation: sourceLocation)
    } else {
        #expect(error["param"] is NSNull, "body: \(response.text)", sourceLocation: sourceLocation)
    }
}

extension Dictionary where Key == String, Value == Any {
    subscript(path path: String...) -> Any? {
        var current: Any? = self
        for key in path {
            if let index = Int(key) { current = (current as? [Any]).flatMap { $0.indices.contains(index) ? $0[index] : nil } } else {
                current = (current as? [String: Any])?[key]
            }
        }
        return current
    }
}

/// Greedy tokens of `prompt` straight from an engine (the reference the server must match).
func engineGreedy(_ engine: Engine, prompt: [Int32], maxTokens: Int, adapter: String? = nil) async throws -> (tokens: [Int32], text: String) {
    var tokens: [Int32] = [], text = ""
    for try await piece in engine.generate(EngineRequest(promptTokens: prompt, parameters: SamplingParameters(maxTokens: maxTokens), adapterName: adapter)) {
        tokens += piece.tokens.map(\.token)
        text += piece.text
    }
    return (tokens, text)
}

func bytesOf(_ text: String) -> [Int32] { text.utf8.map { Int32($0) } }
