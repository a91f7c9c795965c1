// One HTTP request's engine requests (its prompts × n) run together and merged into one
// stream of (choice, piece). The generation is cancelled — and the engine aborts its requests
// and frees their KV blocks within a step — when the client goes away (`HangUpWatch`), when
// the response writer stops, or when any choice fails.

import FloraEngine
import NIOCore
import Synchronization

struct ChoicePiece: Sendable {
    var choice: Int
    var piece: EngineOutput
}

struct Generation: Sendable {
    let events: AsyncThrowingStream<ChoicePiece, any Error>
    let choices: Int
    private let task: Task<Void, Never>
    private let admission: Admission

    /// Starts the engine requests, watching `channel` for the client leaving.
    static func start(engine: Engine, requests: [EngineRequest], channel: (any Channel)?) async -> Generation {
        let (events, sink) = AsyncThrowingStream<ChoicePiece, any Error>.makeStream()
        let admission = Admission(choices: requests.count)
        let watch = HangUpWatch()
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
                try Task.checkCancellation()   // a cancelled engine stream just ends; say why
                sink.finish()
            } catch {
                sink.finish(throwing: error)
                admission.fail(error)
            }
            admission.fail(CancellationError())   // a stream that ended before its first piece
            await watch.stop()
        }
        sink.onTermination = { _ in task.cancel() }
        if let channel { await watch.start(on: channel) { task.cancel() } }
        return Generation(events: events, choices: requests.count, task: task, admission: admission)
    }

    func cancel() { task.cancel() }

    /// Returns once every choice has produced its first piece — the engine took them all —
    /// or throws the error that refused one (queue full, unknown adapter …). Streaming routes
    /// wait for this so that a refusal is still an HTTP status and not an event after a 200.
    func waitUntilAdmitted() async throws {
        try await withTaskCancellationHandler {
            try await admission.wait()
        } onCancel: {
            cancel()
        }
    }

    /// Every choice's pieces joined, in choice order.
    func collect() async throws -> [ChoiceOutput] {
        defer { cancel() }
        var outputs = [ChoiceOutput](repeating: ChoiceOutput(), count: choices)
        try await withTaskCancellationHandler {
            for try await event in events { outputs[event.choice].append(event.piece) }
        } onCancel: {
            cancel()
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

/// Resolves once: when every choice has started, or with the first failure.
final class Admission: Sendable {
    private struct State {
        var waiting: Set<Int>
        var result: Result<Void, any Error>?
        var waiters: [CheckedContinuation<Void, any Error>] = []
    }
    private let state: Mutex<State>

    init(choices: Int) { state = Mutex(State(waiting: Set(0..<choices), result: choices == 0 ? .success(()) : nil)) }

    func started(_ choice: Int) {
        resolve { state in
            state.waiting.remove(choice)
            return state.waiting.isEmpty ? .success(()) : nil
        }
    }

    func fail(_ error: any Error) { resolve { _ in .failure(error) } }

    private func resolve(_ decide: (inout State) -> Result<Void, any Error>?) {
        let (waiters, result) = state.withLock { state -> ([CheckedContinuation<Void, any Error>], Result<Void, any Error>?) in
            guard state.result == nil, let result = decide(&state) else { return ([], nil) }
            state.result = result
            defer { state.waiters = [] }
            return (state.waiters, result)
        }
        if let result { for waiter in waiters { waiter.resume(with: result) } }
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
