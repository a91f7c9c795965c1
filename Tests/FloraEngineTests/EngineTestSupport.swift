// Running requests through a real Engine on tiny models, and the solo reference they must equal.

import FloraAdapters
import FloraEngine
import FloraModel
import FloraTensor
import FloraTestSupport
import Foundation

struct EngineRun {
    var tokens: [Int32] = []
    var text = ""
    var finishReason: FinishReason?
    var error: (any Error)?
}

/// Collects one request's whole stream.
func collect(_ stream: AsyncThrowingStream<EngineOutput, any Error>) async -> EngineRun {
    var run = EngineRun()
    do {
        for try await piece in stream {
            run.tokens += piece.tokens.map(\.token)
            run.text += piece.text
            if let reason = piece.finishReason { run.finishReason = reason }
        }
    } catch {
        run.error = error
    }
    return run
}

/// Greedy decoding of one prompt alone, straight through the model (no engine), with its
/// adapter (if any) in a bank of its own: the reference every engine output must equal.
func soloGreedy(model: any CausalLanguageModel, adapter: AdapterWeights?, prompt: [Int32], maxTokens: Int, stopToken: Int32 = 256) throws -> [Int32] {
    let stopTokens: Set<Int32> = stopToken == 2 ? [0, 2] : [stopToken]
    let bank = try AdapterBank(capacity: 1, shapes: model.adapterShapes)
    let slot = try adapter.map { try bank.install($0) } ?? AdapterBank.noAdapter
    let cache = PagedKVCache(config: model.dimensions, blockCount: (prompt.count + maxTokens) / 16 + 1)
    let scratch = ForwardScratch(config: model.dimensions)
    let table = (0..<Int32(cache.blockCount)).map { $0 }
    var tokens = prompt, computed = 0, generated: [Int32] = []
    while generated.count < maxTokens {
        var batch = Batch()
        batch.append(sequenceTokens: Array(tokens[computed...]), startPosition: computed, blockTable: table, adapterSlot: slot)
        let logits = try model.forward(batch, cache: cache, scratch: scratch, adapters: bank)
        computed = tokens.count
        let next = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
        generated.append(next)
        if stopTokens.contains(next) { break }
        tokens.append(next)
    }
    return generated
}

func temporaryDirectory() throws -> String {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("flora-engine-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url.path
}
