// The logits of every position of one prompt, straight through a model's forward: what the
// reference files of transformers hold.
import FloraAdapters
import FloraModel

/// A prompt of a fixture's reference logits (`[Σ positions, vocab]` row-major, prompt after prompt,
/// as the scripts of scripts/fixtures write them): its text, token ids and first row.
public struct ReferencePrompt: Decodable, Sendable {
    public let text: String
    public let ids: [Int32]
    public let first_row: Int

    /// The prompt's logits in its reference file, as a range of floats.
    public func logitRange(vocabularySize: Int) -> Range<Int> {
        first_row * vocabularySize ..< (first_row + ids.count) * vocabularySize
    }
}

/// `[ids.count, vocab]`, row-major; every token with the adapter in `slot` of `adapters` (-1: none).
public func promptLogits(_ model: any CausalLanguageModel, _ ids: [Int32], adapters: AdapterBank? = nil, slot: Int32 = -1) throws -> [Float] {
    let blocks = (ids.count + 15) / 16
    let cache = PagedKVCache(config: model.dimensions, blockCount: blocks)
    var batch = Batch()
    batch.append(sequenceTokens: ids, startPosition: 0, blockTable: (0..<Int32(blocks)).map { $0 }, adapterSlot: slot)
    batch.logitTokens = (0..<Int32(ids.count)).map { $0 }
    return Array(try model.forward(batch, cache: cache, scratch: ForwardScratch(config: model.dimensions), adapters: adapters))
}

/// `‖actual − expected‖ / ‖expected‖`, in Double.
public func relativeError(_ actual: some Collection<Float>, _ expected: some Collection<Float>) -> Double {
    precondition(actual.count == expected.count, "comparing \(actual.count) values with \(expected.count)")
    var difference = 0.0, norm = 0.0
    for (a, e) in zip(actual, expected) {
        difference += (Double(a) - Double(e)) * (Double(a) - Double(e))
        norm += Double(e) * Double(e)
    }
    return norm > 0 ? (difference / norm).squareRoot() : difference.squareRoot()
}
