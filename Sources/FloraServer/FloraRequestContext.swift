// The per-request context: Hummingbird's core storage plus the client's channel, whose close
// tells a running generation that nobody is listening any more.

import Hummingbird
import NIOCore

public struct FloraRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The connection the request came on (a test channel under the router test client).
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
