// Limits an operator sets so that no client can take the whole server, each refusal saying
// which limit and when to retry: requests in flight at once (503 with Retry-After; a streamed
// response counts until its last byte is written, not until its headers leave) and requests per
// minute per API key (429 with Retry-After, a token bucket of one minute's worth that refills
// continuously). Without --api-key every client shares one bucket. /health and /metrics are
// never limited, so probes and scrapes see a busy server as it is.

import Foundation
import Hummingbird
import Synchronization

/// What `flora serve` lets one client or all of them ask for; nil is no limit.
public struct ServerLimits: Sendable, Equatable {
    /// `max_tokens` above this is a 400; a request that names none gets at most this many.
    public var maxTokensPerRequest: Int?
    public var maxConcurrentRequests: Int?
    public var requestsPerMinutePerKey: Int?

    public init(maxTokensPerRequest: Int? = nil, maxConcurrentRequests: Int? = nil, requestsPerMinutePerKey: Int? = nil) {
        self.maxTokensPerRequest = maxTokensPerRequest
        self.maxConcurrentRequests = maxConcurrentRequests
        self.requestsPerMinutePerKey = requestsPerMinutePerKey
    }
}

struct RequestLimitsMiddleware: RouterMiddleware {
    typealias Context = FloraRequestContext
    let limits: ServerLimits
    let state = RequestLimitsState()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !APIKeyMiddleware.openPaths.contains(request.uri.path) else { return try await next(request, context) }
        if let perMinute = limits.requestsPerMinutePerKey {
            let key = request.headers[.authorization] ?? ""
            if let wait = state.take(key: key, perMinute: perMinute, now: ContinuousClock.now) {
                throw APIError(
                    .tooManyRequests, "rate limit reached: at most \(perMinute) requests per minute per API key (--rate-limit); retry in \(wait) s",
                    retryAfter: wait)
            }
        }
        guard let maximum = limits.maxConcurrentRequests else { return try await next(request, context) }
        guard state.enter(maximum: maximum) else {
            throw APIError(
                .serviceUnavailable, "the server is handling its limit of \(maximum) concurrent requests (--max-concurrent-requests); retry shortly",
                retryAfter: 1)
        }
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            state.leave()
            throw error
        }
        var counted = response
        let body = response.body
        let state = self.state
        counted.body = ResponseBody(contentLength: body.contentLength) { writer in
            defer { state.leave() }
            try await body.write(writer)
        }
        return counted
    }
}

/// The middleware's counters, shared by every request.
public final class RequestLimitsState: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }
    private let inFlight = Atomic<Int>(0)
    private let buckets = Mutex<[String: Bucket]>([:])

    public init() {}

    func enter(maximum: Int) -> Bool {
        if inFlight.add(1, ordering: .relaxed).newValue <= maximum { return true }
        inFlight.subtract(1, ordering: .relaxed)
        return false
    }

    func leave() { inFlight.subtract(1, ordering: .relaxed) }

    /// Takes one request from `key`'s bucket; nil if it had one, else whole seconds until it will.
    public func take(key: String, perMinute: Int, now: ContinuousClock.Instant) -> Int? {
        buckets.withLock { buckets in
            let capacity = Double(perMinute), perSecond = Double(perMinute) / 60
            var bucket = buckets[key] ?? Bucket(tokens: capacity, updated: now)
            let elapsed = now - bucket.updated
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            bucket.tokens = min(capacity, bucket.tokens + seconds * perSecond)
            bucket.updated = now
            defer { buckets[key] = bucket }
            guard bucket.tokens >= 1 else { return max(1, Int(((1 - bucket.tokens) / perSecond).rounded(.up))) }
            bucket.tokens -= 1
            return nil
        }
    }
}
