// The logits processors against hand-computed values on small logit vectors, the sparse token
// counts after many tokens, and the sampler that runs them (greedy on processed logits, log-
// probabilities still the model's raw ones).

import FloraEngine
import FloraTensor
import Foundation
import Testing

@Suite struct LogitsProcessorsTests {
    /// The processed logits of `logits` under `processors`.
    func processed(_ processors: LogitsProcessors, _ logits: [Float]) -> [Float] {
        var out = [Float](repeating: .nan, count: logits.count)
        logits.withUnsafeBufferPointer { input in
            out.withUnsafeMutableBufferPointer { processors.apply(input, into: $0.baseAddress!) }
        }
        return out
    }

    func make(_ parameters: SamplingParameters, prompt: [Int32] = [], stops: Set<Int32> = []) throws -> LogitsProcessors {
        try #require(LogitsProcessors(parameters, promptTokens: prompt, stopTokens: stops))
    }

    @Test func defaultParametersRunNoProcessorAtAll() {
        #expect(LogitsProcessors(SamplingParameters(temperature: 0.7, topK: 5, topP: 0.9, seed: 3), promptTokens: [1, 2], stopTokens: [3]) == nil)
        #expect(Sampler(SamplingParameters(), promptTokens: [1], stopTokens: [0]).processors == nil)
    }

    @Test func logitBiasIsAddedToItsTokens() throws {
        let processors = try make(SamplingParameters(logitBias: [0: 5, 3: -2.5]))
        #expect(processed(processors, [1, 2, 3, -1]) == [6, 2, 3, -3.5])
    }

    @Test func minTokensMasksTheStopTokensUntilEnoughWereGenerated() throws {
        var processors = try make(SamplingParameters(maxTokens: 8, minTokens: 2), stops: [2, 3])
        let logits: [Float] = [0.5, 1, 9, 8]
        #expect(processed(processors, logits) == [0.5, 1, -.infinity, -.infinity])
        processors.record(1)
        #expect(processed(processors, logits) == [0.5, 1, -.infinity, -.infinity])
        processors.record(0)
        #expect(processed(processors, logits) == logits)
    }

    @Test func repetitionPenaltyDividesPositiveAndMultipliesNegativeLogitsOfPromptAndOutput() throws {
        var processors = try make(SamplingParameters(repetitionPenalty: 2), prompt: [0, 3, 3])
        let logits: [Float] = [2, 1, 0.5, -1]
        #expect(processed(processors, logits) == [1, 1, 0.5, -2])
        processors.record(1)
        processors.record(1)   // a token seen twice is still penalised once
        #expect(processed(processors, logits) == [1, 0.5, 0.5, -2])
    }

    @Test func frequencyAndPresencePenaltiesCountOnlyTheOutput() throws {
        var processors = try make(SamplingParameters(presencePenalty: 0.25, frequencyPenalty: 0.5), prompt: [0, 0, 0])
        let logits: [Float] = [1, 1, 1, 1]
        #expect(processed(processors, logits) == logits)
        for token: Int32 in [1, 1, 2] { processors.record(token) }
        // token 1: 1 - 0.5·2 - 0.25; token 2: 1 - 0.5·1 - 0.25
        #expect(processed(processors, logits) == [1, -0.25, 0.25, 1])
    }

    @Test func negativePenaltiesRaiseTheLogits() throws {
        var processors = try make(SamplingParameters(presencePenalty: -1, frequencyPenalty: -2))
        processors.record(0)
        #expect(processed(processors, [0, 0]) == [3, 0])
    }

    @Test func biasComesBeforeTheMaskAndThePenalties() throws {
        // Bias first: (-0.5 + 1) > 0 is divided by the penalty (0.25); penalising first would
        // give -0.5·2 + 1 = 0. The mask wins over a bias on a stop token.
        var processors = try make(
            SamplingParameters(maxTokens: 4, minTokens: 1, repetitionPenalty: 2, frequencyPenalty: 1, logitBias: [0: 1, 1: 100]),
            prompt: [0], stops: [1])
        #expect(processed(processors, [-0.5, 0, 3]) == [0.25, -.infinity, 3])
        processors.record(2)
        // token 2 is now in the output: 3 / 2 (repetition), then − 1 (frequency)
        #expect(processed(processors, [-0.5, 0, 3]) == [0.25, 100, 0.5])
    }

    @Test func tokenCountsAfterManyTokensEqualACountedDictionary() {
        var counts = TokenCounts()
        var reference: [Int32: Int] = [:]
        var generator = SeededGenerator(seed: 5)
        for i in 0..<20_000 {
            // Skewed ids, some very large, so the table grows and probes past collisions.
            let token = i % 7 == 0 ? Int32(generator.next() % 150_000) : Int32(generator.next() % 300)
            counts.add(token)
            reference[token, default: 0] += 1
        }
        #expect(counts.distinctCount == reference.count)
        #expect(reference.allSatisfy { counts.count(of: $0.key) == $0.value })
        #expect(counts.count(of: 150_001) == 0)
        var visited: [Int32: Int] = [:]
        counts.forEach { token, count in visited[token] = count }
        #expect(visited == reference)
    }

    @Test func processorsKeepTheirCountsPerSequence() throws {
        var processors = try make(SamplingParameters(frequencyPenalty: 1))
        for i in 0..<1000 { processors.record(Int32(i % 10)) }
        #expect(processors.generated == 1000)
        #expect(processors.outputCounts.distinctCount == 10)
        #expect((0..<10).allSatisfy { processors.outputCounts.count(of: Int32($0)) == 100 })
    }

    @Test func greedySamplingPicksTheArgmaxOfTheProcessedLogitsButReportsRawLogprobs() {
        let logits: [Float] = [3, 1, 0, -2]
        var sampler = Sampler(SamplingParameters(temperature: 0, logprobs: 2, logitBias: [3: 10]))
        var probabilities = [Float](repeating: 0, count: 4), scratch = [Float](repeating: 0, count: 4)
        let sampled = logits.withUnsafeBufferPointer { input in
            sampler.sample(input, probabilities: &probabilities, processed: &scratch)
        }
        let logNormalizer = log(logits.map { exp(Double($0)) }.reduce(0, +))
        #expect(sampled.token == 3)
        #expect(abs(Double(sampled.logprob) - (-2 - logNormalizer)) < 1e-5)
        #expect(sampled.top.map(\.token) == [0, 1], "the alternatives are the model's most likely, not the biased ones")
    }

    @Test func greedyDecodingFollowsThePenalisedLogitsStepByStep() {
        let logits: [Float] = [2, 1.9, 0]
        var sampler = Sampler(SamplingParameters(temperature: 0, presencePenalty: 0.5))
        var probabilities = [Float](repeating: 0, count: 3), scratch = [Float](repeating: 0, count: 3)
        let picks = (0..<4).map { _ in
            logits.withUnsafeBufferPointer { sampler.sample($0, probabilities: &probabilities, processed: &scratch).token }
        }
        // 2 | 1.5 vs 1.9 | 1.5 vs 1.4 | 1.5 vs 1.4: presence counts a token once, however often it came.
        #expect(picks == [0, 1, 0, 0])
    }

    @Test(arguments: [
        (SamplingParameters(maxTokens: 4, minTokens: 5), "min_tokens"),
        (SamplingParameters(minTokens: -1), "min_tokens"),
        (SamplingParameters(repetitionPenalty: 0), "repetition_penalty"),
        (SamplingParameters(repetitionPenalty: .infinity), "repetition_penalty"),
        (SamplingParameters(presencePenalty: 2.5), "presence_penalty"),
        (SamplingParameters(frequencyPenalty: -2.01), "frequency_penalty"),
        (SamplingParameters(logitBias: [4: 100.5]), "logit_bias"),
    ])
    func outOfRangeParametersAreRefusedByName(_ parameters: SamplingParameters, _ name: String) {
        #expect(throws: SamplingError.self) { try parameters.validate() }
        do { try parameters.validate() } catch { #expect("\(error)".hasPrefix(name), "\(error)") }
    }
}
