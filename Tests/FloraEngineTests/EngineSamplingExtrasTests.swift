// ignore_eos, min_tokens and stop_token_ids through the engine on the tiny model. A logit bias
// of +100 makes the greedy output known in advance (one token over and over), so the tests say
// exactly which token ends what.

import FloraEngine
import FloraModel
import FloraTestSupport
import Testing

@Suite struct EngineSamplingExtrasTests {
    static let eos: Int32 = 256           // TinyModels' end of sequence
    static let a = Int32(UInt8(ascii: "a"))
    let prompt: [Int32] = Array("Once".utf8).map(Int32.init)

    func run(_ parameters: SamplingParameters) async throws -> EngineRun {
        let engine = try Engine(model: try TinyModels.model(), tokenizer: TinyModels.tokenizer(), config: EngineConfig(kvCacheTokens: 1024))
        return await collect(engine.generate(EngineRequest(promptTokens: prompt, parameters: parameters)))
    }

    @Test func endOfSequenceEndsTheOutput() async throws {
        let run = try await run(SamplingParameters(maxTokens: 8, logitBias: [Self.eos: 100]))
        #expect(run.tokens == [Self.eos])
        #expect(run.finishReason == .stop)
    }

    @Test func ignoreEOSGeneratesEndOfSequenceAsAnyTokenUpToMaxTokens() async throws {
        let run = try await run(SamplingParameters(maxTokens: 8, ignoreEOS: true, logitBias: [Self.eos: 100]))
        #expect(run.tokens == Array(repeating: Self.eos, count: 8))
        #expect(run.finishReason == .length)
        #expect(run.text == "", "a special token has no text")
    }

    @Test func stopTokenIdsStillStopUnderIgnoreEOS() async throws {
        let run = try await run(SamplingParameters(maxTokens: 8, stopTokenIds: [Self.a], ignoreEOS: true, logitBias: [Self.a: 100]))
        #expect(run.tokens == [Self.a])
        #expect(run.finishReason == .stop)
    }

    @Test func minTokensHoldsEndOfSequenceAndStopTokenIdsBack() async throws {
        let eos = try await run(SamplingParameters(maxTokens: 12, minTokens: 5, logitBias: [Self.eos: 100]))
        #expect(eos.tokens.count == 6)
        #expect(!eos.tokens.prefix(5).contains(Self.eos) && eos.tokens.last == Self.eos)
        #expect(eos.finishReason == .stop)

        let stop = try await run(SamplingParameters(maxTokens: 12, stopTokenIds: [Self.a], minTokens: 3, logitBias: [Self.a: 100]))
        #expect(stop.tokens.count == 4 && stop.tokens.last == Self.a && !stop.tokens.prefix(3).contains(Self.a))
        #expect(stop.finishReason == .stop)
    }

    @Test func minTokensEqualToMaxTokensGivesExactlyThatMany() async throws {
        let run = try await run(SamplingParameters(maxTokens: 7, minTokens: 7, logitBias: [Self.eos: 100]))
        #expect(run.tokens.count == 7 && !run.tokens.contains(Self.eos))
        #expect(run.finishReason == .length)
    }

    /// The output is "aaaa…"; a stop string can only end in the text of a token after min_tokens
    /// (vLLM's rule), though it may begin before.
    @Test(arguments: [
        (["a"], 0, "", 1),
        (["a"], 3, "aaa", 4),
        (["aa"], 3, "aa", 4),     // "aa" spanning tokens 3 and 4 ends after min_tokens
        (["aaaaa"], 2, "", 5),
    ])
    func stopStringsEndNothingBeforeMinTokens(stop: [String], minTokens: Int, text: String, tokens: Int) async throws {
        let run = try await run(SamplingParameters(maxTokens: 10, stopStrings: stop, minTokens: minTokens, logitBias: [Self.a: 100]))
        #expect(run.text == text)
        #expect(run.tokens.count == tokens)
        #expect(run.finishReason == .stop)
    }
}
