// One engine step on the core thread: schedule, start the adapter loads the step needs, build
// the Batch, run the model once, sample every sequence that reached its last token, stream,
// update the scheduler.

import FloraAdapters
import FloraModel
import FloraTensor

extension EngineCore {
    /// Runs one step; false when nothing could run (every waiting request awaits its adapter).
    func step() -> Bool {
        let output = scheduler.schedule()
        for finished in output.finished {
            switch finished.outcome {
            case .finished(let reason): end(finished.id, reason: reason)
            case .failed(let message): fail(finished.id, failure(message, adapter: streams[finished.id]?.adapterName))
            }
        }
        startLoads(adapters.startQueuedLoads())
        guard !output.isEmpty else { return false }

        let start = ContinuousClock.now
        var batch = Batch()
        var sampledSequences: [SequenceID] = []  // owner of each logit row
        var promptTokens = 0
        for item in output.scheduled {
            let slot = item.adapterName.flatMap { adapters.slot(of: $0) }.map { AdapterSlot($0) } ?? AdapterBank.noAdapter
            batch.append(
                sequenceTokens: item.tokens, startPosition: item.tokenRange.lowerBound, blockTable: item.blockTable,
                adapterSlot: slot, wantLogits: item.wantsLogits)
            if item.wantsLogits { sampledSequences.append(item.id) }
            if let stream = streams[item.id], item.tokenRange.lowerBound < stream.promptTokenCount {
                promptTokens += min(item.tokenRange.upperBound, stream.promptTokenCount) - item.tokenRange.lowerBound
            }
        }

        var sampled: [SequenceID: Int32] = [:]
        var finishing: [(SequenceID, FinishReason)] = []
        var unsatisfiable: [SequenceID] = []   // their response_format allows no token of the vocabulary
        let now = ContinuousClock.now
        do {
            try runner.execute(batch, adapters: adapters.store) { row, logits in
                let id = sampledSequences[row]
                guard var stream = streams[id] else { return }
                guard let logits = stream.constrained(logits, scratch: maskedLogits.pointer) else {
                    unsatisfiable.append(id)
                    return
                }
                let token = stream.sampler.sample(logits, probabilities: probabilities.pointer, processed: processedLogits.pointer)
                let piece = stream.accept(token)
                emit(stream.lastToken.map { .interTokenLatency(seconds: (now - $0).seconds) }
                    ?? .timeToFirstToken(seconds: (now - stream.arrival).seconds))
                stream.lastToken = now
                countGenerated()
                streams[id] = stream
                stream.continuation.yield(piece)
                if let reason = piece.finishReason {
                    finishing.append((id, reason))
                } else {
                    sampled[id] = token.token
                }
            }
        } catch {
            // The scheduler built this batch, so this is a bug, not bad input: fail the step's
            // requests with the reason rather than bringing the server down.
            for item in output.scheduled { fail(item.id, .failed("internal error running the model: \(error)")) }
            return true
        }
        for (id, reason) in finishing { close(id, reason: reason) }
        for id in unsatisfiable { fail(id, .failed("response_format: no token of the vocabulary continues the JSON written so far")) }
        // The streams decided every finish above; the scheduler's own stop at the model length
        // cannot come first (each stream's `maxTokens` respects it), but a sequence it ends is
        // still ended properly.
        for finished in scheduler.update(output, sampled: sampled) {
            if case .finished(let reason) = finished.outcome { end(finished.id, reason: reason) }
        }
        emit(.step(seconds: (ContinuousClock.now - start).seconds, promptTokens: promptTokens,
                   decodeTokens: output.scheduledTokenCount - promptTokens))
        return true
    }

    /// Ends a request whose last piece was already sent.
    private func close(_ id: SequenceID, reason: FinishReason) {
        scheduler.finish(id, reason: reason)
        guard let stream = streams.removeValue(forKey: id) else { return }
        ended.append((stream.continuation, nil))
        report(finished: stream, reason: reason)
    }

    private func failure(_ message: String, adapter: String?) -> EngineError {
        if let name = adapter {
            switch adapters.state(of: name) {
            // The cache's own message names the adapter, its folder and the cause once.
            case .failed(let cause): return .adapterFailed(name: name, message: cause)
            // Unloaded between the server's check and the engine's queue: the same answer as an
            // adapter that was never there.
            case nil: return .unknownAdapter(name)
            default: break
            }
        }
        return .failed(message)
    }
}
