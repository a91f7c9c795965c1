import FloraModel
import FloraTensor
import Testing

@Suite struct BatchedForwardTests {
    @Test func promptsOfDifferentLengthsRunTogetherGiveEachItsSoloLogits() throws {
        let model = try TinyModel.make()
        var generator = SeededGenerator(seed: 3)
        let prompts: [[Int32]] = [5, 17, 1, 33, 16].map { n in (0..<n).map { _ in Int32(generator.next() % 257) } }
        let cache = PagedKVCache(config: model.config, blockCount: 64)
        let scratch = ForwardScratch(config: model.config)
        var batch = Batch()
        var nextBlock: Int32 = 0
        for prompt in prompts {
            let blocks = Int32((prompt.count + 15) / 16)
            batch.append(sequenceTokens: prompt, startPosition: 0, blockTable: Array(nextBlock..<(nextBlock + blocks)))
            nextBlock += blocks
        }
        let logits = Array(try model.forward(batch, cache: cache, scratch: scratch))
        let vocab = model.config.vocabularySize
        for (i, prompt) in prompts.enumerated() {
            let solo = try TinyModel.soloLogits(model, prompt)
            let row = Array(logits[(i * vocab)..<((i + 1) * vocab)])
            #expect(maxRelativeError(row, solo) < 1e-4, "prompt \(i)")
        }
    }

    @Test func decodingTokenByTokenMatchesOnePrefill() throws {
        let model = try TinyModel.make()
        let prompt: [Int32] = (0..<40).map { Int32(($0 * 37 + 11) % 257) }
        let full = try TinyModel.soloLogits(model, prompt)
        let cache = PagedKVCache(config: model.config, blockCount: 8)
        let scratch = ForwardScratch(config: model.config)
        let table: [Int32] = [5, 2, 7]  // blocks need not be contiguous or ordered
        var last: [Float] = []
        var position = 0
        for chunk in [13, 1, 9, 16, 1] {  // prefill chunks and single decode tokens
            var batch = Batch()
            batch.append(sequenceTokens: Array(prompt[position..<(position + chunk)]), startPosition: position, blockTable: table)
            last = Array(try model.forward(batch, cache: cache, scratch: scratch))
            position += chunk
        }
        #expect(position == prompt.count)
        #expect(maxRelativeError(last, full) < 1e-4)
    }

    @Test func aBatchThatNamesAMissingBlockIsRefused() throws {
        let model = try TinyModel.make()
        let cache = PagedKVCache(config: model.config, blockCount: 2)
        var batch = Batch()
        batch.append(sequenceTokens: Array(repeating: 1, count: 20), startPosition: 0, blockTable: [0])
        #expect(throws: ModelError.self) { try model.forward(batch, cache: cache, scratch: ForwardScratch(config: model.config)) }
        var outside = Batch()
        outside.append(sequenceTokens: [1], startPosition: 0, blockTable: [9])
        #expect(throws: ModelError.self) { try model.forward(outside, cache: cache, scratch: ForwardScratch(config: model.config)) }
        var badToken = Batch()
        badToken.append(sequenceTokens: [500], startPosition: 0, blockTable: [0])
        #expect(throws: ModelError.self) { try model.forward(badToken, cache: cache, scratch: ForwardScratch(config: model.config)) }
    }
}
