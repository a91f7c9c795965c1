// One HTTP request's engine requests (its prompts × n) run together and merged into one
// stream of (choice, piece). The generation is cancelled — and the engine aborts its requests
// and frees their KV blocks within a step — when the client's connection closes, when the
// response writer stops reading, or when any choice fails.

import FloraEngine
import NIOCore
import Synchronization

struct ChoicePiece: Sendable {
    var choice: Int
    var piece: EngineOutput
}

struct Generation: Sendable {
    let events: AsyncThrowingStream<ChoicePiece, any Error>
    private let task: Task<Void, Never>
    private let admission: Admission

    init(engine: Engine, requests: [EngineRequest], channel: (any Channel)?) {
        let (events, sink) = AsyncThrowingStream<ChoicePiece, any Error>.makeStream()
        let admission = Admission(choices: requests.count)
        let task = Task {
            do {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for (choice, request) in requests.enumerated() {
                        group.addTask {
                            for try await piece in engine.generate(request) {
                                admission.started(choice)
                                sink.yield(ChoicePiece(choice: choice, piece: piece))
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                try Task.checkCancellation()
                sink.finish()
            } catch {
                sink.finish(throwing: error)
                admission.fail(error)
            }
            admission.fail(CancellationError())  // a stream that ended before its first piece
        }
        sink.onTermination = { _ in task.cancel() }
        channel?.closeFuture.whenComplete { _ in task.cancel() }
        self.events = events
        self.task = task
        self.admission = admission
    }

    /// Returns once every choice has produced its first piece — the engine took them all —
    /// or throws the error that refused one (queue full, unknown adapter …). Streaming routes
    /// wait for this so that a refusal is still an HTTP status and not an event after a 200.
    func waitUntilAdmitted() async throws {
        try await withTaskCancellationHandler {
            try await admission.wait()
        } onCancel: {
            task.cancel()
        }
    }

    func cancel() { task.cancel() }

    /// Every choice's pieces joined, in choice order.
    func collect(choices: Int) async throws -> [ChoiceOutput] {
        var outputs = [ChoiceOutput](repeating: ChoiceOutput(), count: choices)
        try await withTaskCancellationHandler {
            for try await event in events { outputs[event.choice].append(event.piece) }
        } onCancel: {
            task.cancel()
        }
        return outputs
    }
}

/// One choice's output so far.
struct ChoiceOutput: Sendable {
    var text = ""
    var tokens: [SampledToken] = []
    var finishReason: FinishReason?
    var promptTokenCount = 0
    var generatedTokenCount = 0

    mutating func append(_ piece: EngineOutput) {
        text += piece.text
        tokens += piece.tokens
        if let reason = piece.finishReason { finishReason = reason }
        promptTokenCount = piece.promptTokenCount
        generatedTokenCount = piece.generatedTokenCount
    }
}

/// Resolves once when every choice has started, or with the first failure.
final class Admission: Sendable {
    private struct State {
        var waiting: Set<Int>
        var result: Result<Void, any Error>?
        var waiters: [CheckedContinuation<Void, any Error>] = []
    }
    private let state: Mutex<State>

    init(choices: Int) { state = Mutex(State(waiting: Set(0..<choices), result: choices == 0 ? .success(()) : nil)) }

    func started(_ choice: Int) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            guard state.result == nil, state.waiting.remove(choice) != nil, state.waiting.isEmpty else { return [] }
            state.result = .success(())
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func fail(_ error: any Error) {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            guard state.result == nil else { return [] }
            state.result = .failure(error)
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(throwing: error) }
    }

    func wait() async throws {
        try await withCheckedThrowingContinuation { continuation in
            let result = state.withLock { state -> Result<Void, any Error>? in
                if state.result == nil { state.waiters.append(continuation) }
                return state.result
            }
            if let result { continuation.resume(with: result) }
        }
    }
}
