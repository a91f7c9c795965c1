// The engine core's input queue: the API side posts requests, cancellations, adapter changes
// and finished adapter loads; the core thread takes them between steps and sleeps on the
// semaphore when it has nothing to do, so it is woken by new work, never by polling.

import Dispatch
import FloraAdapters
import Synchronization

enum EngineCommand: Sendable {
    case add(id: SequenceID, EngineRequest, arrival: ContinuousClock.Instant, RequestStream.Continuation)
    case cancel(SequenceID)
    case register(AdapterRegistration, CheckedContinuation<Void, any Error>)
    case unregister(name: String, CheckedContinuation<Void, any Error>)
    case loadFinished(AdapterLoadRequest, Result<LoadedAdapter<AdapterWeights>, any Error>)
    /// Stop or go on running steps; requests are still taken while paused.
    case pause(Bool, CheckedContinuation<Void, Never>)
    /// Stop taking requests; abort what still runs at `deadline` (nil: let it finish).
    case shutdown(deadline: ContinuousClock.Instant?, CheckedContinuation<Void, Never>?)
}

extension EngineCommand {
    /// Answers a command that arrives after the core has stopped.
    func refuse() {
        switch self {
        case .add(_, _, _, let continuation): continuation.finish(throwing: EngineError.shuttingDown)
        case .register(_, let reply), .unregister(_, let reply): reply.resume(throwing: EngineError.shuttingDown)
        case .shutdown(_, let waiter): waiter?.resume()
        case .pause(_, let waiter): waiter.resume()
        case .cancel, .loadFinished: break
        }
    }
}

final class EngineInbox: Sendable {
    private let commands = Mutex<(queue: [EngineCommand], closed: Bool)>(([], false))
    private let wake = DispatchSemaphore(value: 0)

    func post(_ command: EngineCommand) {
        let accepted = commands.withLock { state in
            if !state.closed { state.queue.append(command) }
            return !state.closed
        }
        if accepted { wake.signal() } else { command.refuse() }
    }

    /// The core stops: what is queued is refused, and so is everything posted later.
    func close() {
        let left = commands.withLock { state in
            state.closed = true
            defer { state.queue.removeAll() }
            return state.queue
        }
        for command in left { command.refuse() }
    }

    /// Everything posted so far, oldest first.
    func take() -> [EngineCommand] {
        commands.withLock { state in
            defer { state.queue.removeAll(keepingCapacity: true) }
            return state.queue
        }
    }

    /// Blocks the calling (core) thread until something is posted; may return early for a post
    /// already taken, which costs one empty pass of the loop.
    func waitForWork() { wake.wait() }
}
