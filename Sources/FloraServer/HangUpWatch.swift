// Noticing that a client went away. Hummingbird keeps half-closed connections open, so a
// client that hangs up while its request waits or computes (with nothing written yet that
// could fail) shows only as an `inputClosed` event in the channel pipeline, or as the channel
// closing. A small handler at the front of the pipeline reports either, for as long as the
// generation runs; it is removed afterwards so keep-alive connections do not collect them.
// (A client that hangs up before the watch starts is noticed at the first write instead.)

import NIOCore
import Synchronization

final class HangUpWatch: Sendable {
    private let installed = Mutex<(channel: any Channel, handler: HangUpHandler)?>(nil)

    func start(on channel: any Channel, onHangUp: @escaping @Sendable () -> Void) async {
        let handler = HangUpHandler(onHangUp: onHangUp)
        do {
            try await channel.pipeline.addHandler(handler, position: .first).get()
            installed.withLock { $0 = (channel, handler) }
        } catch {
            onHangUp()   // a closed channel's pipeline takes no handlers: the client is gone
        }
    }

    func stop() async {
        guard let (channel, handler) = installed.withLock({ value in defer { value = nil }; return value }) else { return }
        try? await channel.pipeline.removeHandler(handler).get()
    }
}

final class HangUpHandler: ChannelInboundHandler, RemovableChannelHandler, Sendable {
    typealias InboundIn = ByteBuffer
    let onHangUp: @Sendable () -> Void

    init(onHangUp: @escaping @Sendable () -> Void) { self.onHangUp = onHangUp }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed { onHangUp() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        onHangUp()
        context.fireChannelInactive()
    }
}
