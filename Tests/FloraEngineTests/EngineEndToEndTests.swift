// The engine on a tiny random model: many requests with mixed adapters arriving over time,
// a KV pool small enough to force preemption — each output must equal its request run alone.

import FloraAdapters
import FloraEngine
import FloraModel
import FloraTensor
import FloraTestSupport
import Foundation
import Testing

@Suite struct EngineEndToEndTests {
    @Test func twoHundredGreedyRequestsWithMixedAdaptersEachEqualTheirSoloRun() async throws {
        let model = try TinyModels.model()
        let directory = try temporaryDirectory()
        let names = try TinyModels.writeRandomAdapters(count: 12, to: directory, model: model)
        let weights = try Dictionary(uniqueKeysWithValues: names.map {
            ($0, try AdapterLoader.load(folder: directory + "/" + $0, name: $0, shapes: model.adapterShapes, baseWeights: model))
        })
        // 12 blocks of 16 tokens: a few requests at a time; later arrivals preempt and resume.
        let engine = try Engine(
            model: model, tokenizer: TinyModels.tokenizer(),
            config: EngineConfig(maxNumSeqs: 16, maxNumBatchedTokens: 48, kvCacheTokens: 192, maxResidentAdapters: 12))
        for name in names { try await engine.registerAdapter(name: name, path: directory + "/" + name) }
        // Every adapter resident first: loads finish on other threads at times of their own, and
        // a burst that waited for them was admitted a few at a time and never preempted (twice
        // on a clean CI run). Eviction under load is EngineAdapterCacheTests' subject.
        for name in names {
            _ = await collect(engine.generate(EngineRequest(promptTokens: [1], parameters: SamplingParameters(maxTokens: 1), adapterName: name)))
        }

        var generator = SeededGenerator(seed: 11)
        struct Case: Sendable { let prompt: [Int32]; let adapter: String?; let maxTokens: Int; let delay: Int }
        let cases: [Case] = (0..<200).map { i in
            let length = 1 + Int(generator.next() % 60)
            let pick = Int(generator.next() % UInt64(names.count + 3))
            return Case(
                prompt: (0..<length).map { _ in Int32(generator.next() % 256) },
                adapter: pick < names.count ? names[pick] : nil,
                maxTokens: 1 + Int(generator.next() % 24), delay: i < 100 ? 0 : (i - 100) / 10)  // a burst, then a trickle
        }
        func request(_ c: Case) -> EngineRequest {
            EngineRequest(promptTokens: c.prompt, parameters: SamplingParameters(maxTokens: c.maxTokens), adapterName: c.adapter)
        }
        // The burst is queued whole before the core takes a step, so the pool is oversubscribed
        // at once however the machine's threads are scheduled.
        await engine.pause()
        let burst = cases.filter { $0.delay == 0 }.map { engine.generate(request($0)) }
        await engine.resume()
        let runs = await withTaskGroup(of: (Int, EngineRun).self) { group in
            for (i, c) in cases.enumerated() {
                group.addTask {
                    if i < burst.count { return (i, await collect(burst[i])) }
                    try? await Task.sleep(for: .milliseconds(c.delay * 5))   // arrivals over time
                    return (i, await collect(engine.generate(request(c))))
                }
            }
            var runs = [EngineRun](repeating: EngineRun(), count: cases.count)
            for await (i, run) in group { runs[i] = run }
            return runs
        }
        for (i, c) in cases.enumerated() {
            #expect(runs[i].error == nil, "request \(i): \(String(describing: runs[i].error))")
            let expected = try soloGreedy(model: model, adapter: c.adapter.flatMap { weights[$0] }, prompt: c.prompt, maxTokens: c.maxTokens)
            #expect(runs[i].tokens == expected, "request \(i) (adapter \(c.adapter ?? "none"), prompt \(c.prompt.count) tokens)")
        }
        let snapshot = await engine.snapshot()
        #expect(snapshot.preemptions > 0, "the pool was meant to force preemption")
        #expect(snapshot.freeKVBlocks == snapshot.totalKVBlocks)
        #expect(snapshot.runningRequests == 0 && snapshot.waitingRequests == 0)
    }

    static let samplingCases: [SamplingParameters] = [
        SamplingParameters(temperature: 0.9, topK: 40, topP: 0.95, seed: 1234, maxTokens: 24),
        SamplingParameters(
            temperature: 0.9, topK: 40, topP: 0.95, seed: 1234, maxTokens: 24, minTokens: 6, repetitionPenalty: 1.3,
            presencePenalty: 0.4, frequencyPenalty: 0.6, logitBias: [101: 3, 32: -5]),
        SamplingParameters(temperature: 0, maxTokens: 24, ignoreEOS: true, repetitionPenalty: 1.5, frequencyPenalty: 1, logitBias: [256: 2]),
    ]

    /// The others in the batch: every mix of processors, on or off.
    static func neighbour(_ i: Int) -> SamplingParameters {
        SamplingParameters(
            temperature: i % 4 == 0 ? 0 : 1, seed: UInt64(i), maxTokens: 8 + i, ignoreEOS: i % 5 == 0, minTokens: i % 3,
            repetitionPenalty: i % 2 == 0 ? 1 : 1.2, presencePenalty: i % 3 == 1 ? -0.5 : 0, frequencyPenalty: i % 4 == 1 ? 0.8 : 0,
            logitBias: i % 6 == 0 ? [Int32(65 + i): 4] : [:])
    }

    @Test(arguments: samplingCases)
    func aSeededSampleIsTheSameAloneAndInABusyBatch(_ parameters: SamplingParameters) async throws {
        let model = try TinyModels.model()
        let config = EngineConfig(maxNumSeqs: 32, maxNumBatchedTokens: 128, kvCacheTokens: 4096)
        let prompt: [Int32] = Array("Once upon a time".utf8).map(Int32.init)
        let alone = try Engine(model: model, tokenizer: TinyModels.tokenizer(), config: config)
        let soloRun = await collect(alone.generate(EngineRequest(promptTokens: prompt, parameters: parameters)))

        let busy = try Engine(model: model, tokenizer: TinyModels.tokenizer(), config: config)
        let runs = await withTaskGroup(of: (Int, EngineRun).self) { group in
            for i in 0..<20 {
                group.addTask {
                    let other = Self.neighbour(i)
                    let request = i == 7 ? EngineRequest(promptTokens: prompt, parameters: parameters)
                        : EngineRequest(promptTokens: Array(repeating: Int32(i + 65), count: 3 + i), parameters: other)
                    return (i, await collect(busy.generate(request)))
                }
            }
            var runs: [Int: EngineRun] = [:]
            for await (i, run) in group { runs[i] = run }
            return runs
        }
        #expect(soloRun.tokens.count == 24 || soloRun.finishReason == .stop)
        #expect(runs[7]?.tokens == soloRun.tokens)
    }

    @Test func aStopStringSplitAcrossTokensEndsTheOutputBeforeIt() async throws {
        let model = try TinyModels.model()
        let engine = try Engine(model: model, tokenizer: TinyModels.tokenizer(), config: EngineConfig(kvCacheTokens: 1024))
        let prompt: [Int32] = Array("abc".utf8).map(Int32.init)
        let free = await collect(engine.generate(EngineRequest(promptTokens: prompt, parameters: SamplingParameters(maxTokens: 24))))
        let text = free.text
        try #require(text.count >= 6, "the greedy continuation is long enough to cut")
        // A stop string made of characters 3..<5 of the continuation spans two tokens (one byte each).
        let stop = String(text.dropFirst(3).prefix(2))
        let cut = await collect(engine.generate(EngineRequest(
            promptTokens: prompt, parameters: SamplingParameters(maxTokens: 24, stopStrings: [stop]))))
        #expect(cut.finishReason == .stop)
        #expect(cut.text == String(text[..<text.range(of: stop)!.lowerBound]))
    }

    @Test func cancellingAStreamAbortsItsRequestAndFreesItsBlocks() async throws {
        let model = try TinyModels.model()
        let engine = try Engine(model: model, tokenizer: TinyModels.tokenizer(), config: EngineConfig(kvCacheTokens: 1024))
        let long = EngineRequest(promptTokens: Array(repeating: 65, count: 40), parameters: SamplingParameters(maxTokens: 400))
        let task = Task {
            var pieces = 0
            for try await _ in engine.generate(long) {
                pieces += 1
                if pieces == 3 { break }   // the client goes away
            }
            return pieces
        }
        #expect(try await task.value == 3)
        for _ in 0..<200 {
            let snapshot = await engine.snapshot()
            if snapshot.runningRequests == 0 && snapshot.freeKVBlocks == snapshot.totalKVBlocks { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        let snapshot = await engine.snapshot()
        #expect(snapshot.runningRequests == 0 && snapshot.waitingRequests == 0)
        #expect(snapshot.freeKVBlocks == snapshot.totalKVBlocks)
    }

    @Test func badRequestsAreRefusedWithoutDisturbingOthers() async throws {
        let model = try TinyModels.model()
        let engine = try Engine(model: model, tokenizer: TinyModels.tokenizer(), config: EngineConfig(kvCacheTokens: 1024))
        let good = Task { await collect(engine.generate(EngineRequest(promptTokens: [72, 105], parameters: SamplingParameters(maxTokens: 12)))) }
        let unknown = await collect(engine.generate(EngineRequest(promptTokens: [1], parameters: SamplingParameters(), adapterName: "nope")))
        #expect(unknown.error as? EngineError == .unknownAdapter("nope"))
        let outside = await collect(engine.generate(EngineRequest(promptTokens: [9999], parameters: SamplingParameters())))
        #expect("\(outside.error.map { "\($0)" } ?? "")".contains("outside the vocabulary"))
        let tooLong = await collect(engine.generate(EngineRequest(promptTokens: Array(repeating: 1, count: 600), parameters: SamplingParameters())))
        #expect("\(tooLong.error.map { "\($0)" } ?? "")".contains("context"))
        let badTemperature = await collect(engine.generate(EngineRequest(promptTokens: [1], parameters: SamplingParameters(temperature: -1))))
        #expect(badTemperature.error != nil)
        let run = await good.value
        #expect(run.error == nil && run.tokens.count >= 1)
    }
}
