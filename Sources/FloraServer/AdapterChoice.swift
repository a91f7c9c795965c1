// Which adapter a completion runs with: the base model, one adapter named by `model`, or
// Flora's extension for weighted combinations (docs/api.md, "Adapter mixtures"):
//     "model": "a", "adapter_scale": 0.5                    a at half strength
//     "adapters": [{"name": "a", "weight": 0.7}, {"name": "b", "weight": 0.3}]
// With `adapters`, `model` names the base model (or is left out). The engine serves a mixture as
// one adapter of the parts' kind (AdapterMixture), so it batches with every other request.

import FloraAdapters
import FloraEngine

/// One entry of `adapters`; `scale` is accepted as another spelling of `weight` (llama.cpp's).
struct AdapterPartInput: Decodable, Sendable {
    var name: String
    var weight: Double?
    var scale: Double?
}

enum AdapterChoice: Sendable, Equatable {
    case base
    case adapter(String)
    case mixture(AdapterMixture)

    func engineRequest(prompt: [Int32], parameters: SamplingParameters) -> EngineRequest {
        switch self {
        case .base: EngineRequest(promptTokens: prompt, parameters: parameters)
        case .adapter(let name): EngineRequest(promptTokens: prompt, parameters: parameters, adapterName: name)
        case .mixture(let mixture): EngineRequest(promptTokens: prompt, parameters: parameters, mixture: mixture)
        }
    }
}

extension FloraAPI {
    /// The adapter of a request's `model`, `adapter_scale` and `adapters` fields; every named
    /// adapter must exist (404 naming it), weights must be finite numbers (400).
    func adapterChoice(model: String?, adapters: [AdapterPartInput]?, scale: Double?) async throws -> AdapterChoice {
        guard let adapters else {
            guard let name = try await adapter(forModel: model) else {
                if scale != nil { throw APIError.badRequest("adapter_scale needs an adapter named in model", param: "adapter_scale") }
                return .base
            }
            guard let scale else { return .adapter(name) }
            return .mixture(try mixture([AdapterMixture.Part(name: name, weight: try weight(scale, param: "adapter_scale"))], param: "adapter_scale"))
        }
        if let model, model != configuration.servedModelName {
            throw APIError.badRequest(
                "with adapters, model must name the base model '\(configuration.servedModelName)', got '\(model)'", param: "model")
        }
        if scale != nil { throw APIError.badRequest("adapter_scale applies to the adapter in model; with adapters give each a weight", param: "adapter_scale") }
        var parts: [AdapterMixture.Part] = []
        for (i, part) in adapters.enumerated() {
            let param = "adapters[\(i)]"
            guard part.weight == nil || part.scale == nil else {
                throw APIError.badRequest("\(param) has both weight and scale; give one", param: param)
            }
            guard let value = part.weight ?? part.scale else { throw APIError.badRequest("\(param).weight is missing", param: param + ".weight") }
            guard try await adapter(forModel: part.name) != nil else {
                throw APIError.badRequest("\(param).name is the base model; list adapters only", param: param + ".name")
            }
            parts.append(AdapterMixture.Part(name: part.name, weight: try weight(value, param: param + ".weight")))
        }
        return .mixture(try mixture(parts, param: "adapters"))
    }

    private func weight(_ value: Double, param: String) throws -> Float {
        guard value.isFinite, abs(value) <= 100 else { throw APIError.badRequest("\(param) must be a finite number in -100...100, got \(value)", param: param) }
        return Float(value)
    }

    private func mixture(_ parts: [AdapterMixture.Part], param: String) throws -> AdapterMixture {
        do {
            return try AdapterMixture(parts)
        } catch {
            throw APIError.badRequest("\(param): \(error)", param: param)
        }
    }
}
