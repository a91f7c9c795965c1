// The two middlewares: every error leaves in OpenAI's shape (including the router's own 404s
// and anything unexpected, which becomes a 500 rather than a dropped connection), and
// `--api-key` (one or several) guards every route but /health and /metrics.

import Hummingbird
import NIOCore

struct OpenAIErrorMiddleware: RouterMiddleware {
    typealias Context = FloraRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            return APIError(error.status, error.body ?? error.status.reasonPhrase).response()
        } catch is NIOTooManyBytesError {
            return APIError.tooLarge(declared: nil, limit: context.maxUploadSize).response()
        } catch {
            return APIError(error).response()
        }
    }
}

struct APIKeyMiddleware: RouterMiddleware {
    typealias Context = FloraRequestContext
    let keys: [String]
    static let openPaths: Set<String> = ["/health", "/metrics"]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard Self.openPaths.contains(request.uri.path) || keys.map({ Self.matches(request.headers[.authorization], $0) }).contains(true) else {
            throw APIError(.unauthorized, "a valid API key is required: send 'Authorization: Bearer <key>'")
        }
        return try await next(request, context)
    }

    /// Constant-time comparison of `Bearer <key>`, so timing does not reveal the key.
    static func matches(_ header: String?, _ key: String) -> Bool {
        guard let header, header.hasPrefix("Bearer ") else { return false }
        let given = Array(header.utf8.dropFirst(7)), expected = Array(key.utf8)
        var difference = UInt8(given.count == expected.count ? 0 : 1)
        for i in 0..<expected.count { difference |= expected[i] ^ (i < given.count ? given[i] : 0) }
        return difference == 0
    }
}
