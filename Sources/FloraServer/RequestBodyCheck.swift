// A request body through everything the server does to it before the engine: JSON decoding as
// the routes decode it, then `RequestValidation` (completions, chat) or the adapter routes'
// name and folder checks. Public for the request fuzzer (FloraFuzzing); it runs with the base
// model, since choosing an adapter asks the engine which adapters exist.

import FloraTokenizer
import Foundation
import NIOCore

public enum RequestBodyCheck {
    public enum Route: CaseIterable, Sendable {
        case completions, chatCompletions, loadAdapter, unloadAdapter
    }

    /// What an accepted body asks for, for the fuzzer's invariants.
    public struct Accepted: Sendable {
        /// Prompt length of each engine request (completions and chat).
        public var promptLengths: [Int] = []
        /// The folder a load request resolved to.
        public var adapterFolder: String?
    }

    /// Throws the API error the route would answer with (a refusal), or returns what the accepted body asks for.
    /// - Parameter adapterRoot: the real path of the `--adapter-dir` that load requests resolve in.
    public static func check(_ route: Route, body: [UInt8], tokenizer: Tokenizer, maxModelLength: Int, maxTokensLimit: Int?,
                             adapterRoot: String) throws -> Accepted {
        let buffer = ByteBuffer(bytes: body)
        let validation = RequestValidation(tokenizer: tokenizer, maxModelLength: maxModelLength, vocabularySize: tokenizer.vocabularySize,
                                           maxTokensLimit: maxTokensLimit)
        switch route {
        case .completions:
            let checked = try validation.completion(try JSONInput.decode(CompletionRequest.self, from: buffer), adapter: .base)
            return Accepted(promptLengths: checked.requests.map(\.promptTokens.count))
        case .chatCompletions:
            let requests = try validation.chat(try JSONInput.decode(ChatCompletionRequest.self, from: buffer), adapter: .base)
            return Accepted(promptLengths: requests.map(\.promptTokens.count))
        case .loadAdapter:
            let request = try JSONInput.decode(LoadAdapterRequest.self, from: buffer)
            if let problem = AdapterPaths.problem(withName: request.loraName) { throw APIError.badRequest(problem, param: "lora_name") }
            return Accepted(adapterFolder: try AdapterPaths.resolve(request.loraPath, inside: adapterRoot))
        case .unloadAdapter:
            let request = try JSONInput.decode(UnloadAdapterRequest.self, from: buffer)
            if let problem = AdapterPaths.problem(withName: request.loraName) { throw APIError.badRequest(problem, param: "lora_name") }
            return Accepted()
        }
    }
}
