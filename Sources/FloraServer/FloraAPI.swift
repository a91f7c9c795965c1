// What every route needs: the engine, its tokenizer, the adapter catalog, the metrics and the
// settings. Routes are short methods on this type, one file per group of routes.

import FloraEngine
import FloraTokenizer
import Foundation
import Hummingbird

public struct FloraAPI: Sendable {
    public let engine: Engine
    public let catalog: AdapterCatalog
    public let metrics: ServerMetrics
    public let configuration: ServerConfiguration
    let tokenizer: Tokenizer
    let maxModelLength: Int
    let vocabularySize: Int
    /// `max_lora` of `vllm:lora_requests_info`: most distinct adapters in one step.
    let maxLoras: Int

    public init(engine: Engine, catalog: AdapterCatalog, metrics: ServerMetrics, configuration: ServerConfiguration) async {
        self.engine = engine
        self.catalog = catalog
        self.metrics = metrics
        self.configuration = configuration
        tokenizer = engine.tokenizer
        maxModelLength = engine.maxModelLength
        vocabularySize = engine.vocabularySize
        let config = engine.config
        maxLoras = config.maxLorasPerStep ?? config.maxResidentAdapters
    }

    /// The adapter `model` names: nil for the base model (or no `model`), 404 for an unknown name.
    func adapter(forModel model: String?) async throws -> String? {
        guard let model, model != configuration.servedModelName else { return nil }
        guard try await catalog.resolve(name: model) else {
            throw APIError.notFound("The model `\(model)` does not exist.", param: "model")
        }
        return model
    }

    /// The name a response reports in `model`.
    func modelName(_ model: String?) -> String { model ?? configuration.servedModelName }

    static func newID(_ prefix: String) -> String {
        prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
    }

    static var now: Int { Int(Date().timeIntervalSince1970) }
}
