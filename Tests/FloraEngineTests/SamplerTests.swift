// The sampler's reported log-probabilities against a double-precision reference, and its greedy
// fast path (no log-probability asked for) against the full path.

import FloraEngine
import FloraTensor
import Foundation
import Testing

@Suite struct SamplerTests {
    /// A vocabulary-sized row of logits with a wide spread, as a model's head gives.
    static func logits(_ count: Int, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Float(g.nextUnitFloat()) * 30 - 20 }
    }

    @Test(arguments: [1, 15, 16, 17, 1000, 49_152])
    func logSumExpMatchesADoubleReference(count: Int) {
        let x = Self.logits(count, seed: UInt64(count))
        let maximum = Double(x.max()!)
        let reference = maximum + log(x.reduce(0.0) { $0 + exp(Double($1) - maximum) })
        let fast = x.withUnsafeBufferPointer { Sampler.logSumExp($0) }
        #expect(abs(Double(fast) - reference) < 2e-5 * max(1, abs(reference)), "count \(count): \(fast) vs \(reference)")
    }

    @Test func greedyWithoutLogprobsPicksTheSameTokensAsWithThem() {
        let vocab = 4096
        var probabilities = [Float](repeating: 0, count: vocab), processed = probabilities
        var fast = Sampler(SamplingParameters(temperature: 0, chosenLogprob: false))
        var full = Sampler(SamplingParameters(temperature: 0))
        for step in 0..<20 {
            let x = Self.logits(vocab, seed: 100 + UInt64(step))
            let (a, b) = x.withUnsafeBufferPointer { x in
                (fast.sample(x, probabilities: &probabilities, processed: &processed),
                 full.sample(x, probabilities: &probabilities, processed: &processed))
            }
            #expect(a.token == b.token && Int(a.token) == x.indices.max { x[$0] < x[$1] })
            #expect(a.logprob.isNaN && b.logprob.isFinite && b.logprob <= 0)
        }
    }
}
