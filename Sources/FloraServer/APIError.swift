// Errors as OpenAI's API shapes them: `{"error": {"message", "type", "param", "code"}}` with the
// HTTP status. Flora follows vLLM's convention for the fields: `type` is the class name the
// official OpenAI client raises for that status (BadRequestError, NotFoundError …) and `code`
// is the status number.

import FloraEngine
import Foundation
import Hummingbird

public struct APIError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var message: String
    /// The request field at fault (`max_tokens`, `messages[2].content` …), when there is one.
    public var param: String?
    /// Seconds a client should wait before trying again (429 and 503), sent as `Retry-After`.
    public var retryAfter: Int?

    public init(_ status: HTTPResponse.Status, _ message: String, param: String? = nil, retryAfter: Int? = nil) {
        self.status = status
        self.message = message
        self.param = param
        self.retryAfter = retryAfter
    }

    public static func badRequest(_ message: String, param: String? = nil) -> APIError { APIError(.badRequest, message, param: param) }
    public static func notFound(_ message: String, param: String? = nil) -> APIError { APIError(.notFound, message, param: param) }

    /// The name of the error class, after the OpenAI client's exceptions.
    public var type: String {
        switch status.code {
        case 400: "BadRequestError"
        case 401: "AuthenticationError"
        case 403: "PermissionDeniedError"
        case 404: "NotFoundError"
        case 405: "MethodNotAllowedError"
        case 409: "ConflictError"
        case 413: "RequestTooLargeError"
        case 429: "RateLimitError"
        case 503: "ServiceUnavailableError"
        case 500...: "InternalServerError"
        default: "APIError"
        }
    }

    public var description: String { "\(status.code) \(type): \(message)" }

    /// The JSON body of this error.
    var body: ErrorBody { ErrorBody(error: .init(message: message, type: type, param: OrNull(param), code: status.code)) }

    struct ErrorBody: Encodable {
        struct Detail: Encodable {
            var message: String
            var type: String
            var param: OrNull<String>
            var code: Int
        }
        var error: Detail
    }

    func response() -> Response {
        var response = JSONOutput.response(body, status: status)
        if let retryAfter { response.headers[.retryAfter] = String(retryAfter) }
        return response
    }
}

extension APIError {
    /// What a client is told when the engine refuses or fails its request.
    init(_ error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let error as EngineError:
            switch error {
            case .unknownAdapter(let name): self = .notFound("The model `\(name)` does not exist.", param: "model")
            case .invalidRequest(let detail): self = .badRequest(detail)
            case .queueFull: self = APIError(.tooManyRequests, error.description)
            case .shuttingDown: self = APIError(.serviceUnavailable, error.description)
            case .adapterFailed, .failed, .invalidConfiguration: self = APIError(.internalServerError, error.description)
            }
        case let error as SamplingError:
            if case .invalid(let name, _) = error { self = .badRequest(error.description, param: name) } else { self = .badRequest(error.description) }
        case is CancellationError:
            self = APIError(.serviceUnavailable, "the request was cancelled")
        default:
            self = APIError(.internalServerError, "internal error: \(error)")
        }
    }
}
