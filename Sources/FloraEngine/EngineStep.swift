// One engine step: schedule, mirror adapter loads into the bank, build the Batch, run the
// model once, sample every sequence that reached its last token, stream, update.

import FloraAdapters
import FloraModel
import FloraTensor

extension Engine {
    /// Runs one step; false when nothing could run (every waiting request awaits its adapter).
    func step() -> Bool {
        let output = scheduler.schedule()
        applyAdapterEvents()
        for finished in output.finished {
            switch finished.outcome {
            case .finished(let reason): end(finished.id, reason: reason)
            case .failed(let message): fail(finished.id, failure(message, adapter: streams[finished.id]?.adapterName))
            }
        }
        adapters.startQueuedLoads()
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
        let logits: Logits
        do {
            logits = try model.forward(batch, cache: cache, scratch: scratch, adapters: bank)
        } catch {
            // The scheduler built this batch, so this is a bug, not bad input: fail the step's
            // requests with the reason rather than bringing the server down.
            for item in output.scheduled { fail(item.id, .failed("internal error running the model: \(error)")) }
            return true
        }

        var sampled: [SequenceID: Int32] = [:]
        let now = ContinuousClock.now
        for (row, id) in sampledSequences.enumerated() {
            guard var stream = streams[id] else { continue }
            let token = logits.withRow(row) { stream.sampler.sample($0, probabilities: probabilities.pointer) }
            let (piece, stopped) = stream.accept(token)
            if let last = stream.lastToken {
                emit(.interTokenLatency(seconds: (now - last).seconds))
            } else {
                emit(.timeToFirstToken(seconds: (now - stream.arrival).seconds))
            }
            stream.lastToken = now
            generationTokensTotal += 1
            streams[id] = stream
            if stopped {
                scheduler.finish(id, reason: .stop)
                streams[id] = nil
                sequenceOfHandle[stream.handle] = nil
                stream.continuation.yield(piece)
                stream.continuation.finish()
                emit(.requestFinished(
                    seconds: (now - stream.arrival).seconds, promptTokens: stream.promptTokenCount,
                    generatedTokens: stream.generated, reason: .stop))
            } else {
                stream.continuation.yield(piece)
                sampled[id] = token.token
            }
        }
        for finished in scheduler.update(output, sampled: sampled) {
            if case .finished(let reason) = finished.outcome { end(finished.id, reason: reason) }
        }
        emit(.step(seconds: (ContinuousClock.now - start).seconds, promptTokens: promptTokens,
                   decodeTokens: output.scheduledTokenCount - promptTokens))
        return true
    }

    /// Mirrors the adapter cache's loads and evictions into the bank, in order.
    private func applyAdapterEvents() {
        for event in adapters.takeEvents() {
            switch event {
            case .resident(let name, let slot, let weights):
                do {
                    try bank.install(weights, at: AdapterSlot(slot))
                } catch {
                    for (id, stream) in streams where stream.adapterName == name {
                        fail(id, .adapterFailed(name: name, message: "\(error)"))
                    }
                }
            case .evicted(_, let slot):
                bank.remove(AdapterSlot(slot))
            case .failed:
                break  // the scheduler fails the waiting requests of that adapter
            }
        }
    }

    private func failure(_ message: String, adapter: String?) -> EngineError {
        if let name = adapter, case .failed = adapters.state(of: name) {
            return .adapterFailed(name: name, message: message)
        }
        return .failed(message)
    }
}
