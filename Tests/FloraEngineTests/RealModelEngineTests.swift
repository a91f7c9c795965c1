// The engine on the real SmolLM2 with the golden adapters: requests arriving over time into a
// KV pool that bounds the batch, each equal to its request run alone.

import FloraAdapters
import FloraEngine
import FloraFormats
import FloraModel
import FloraTensor
import FloraTestSupport
import Foundation
import Testing

@Suite struct RealModelEngineTests {
    @Test func twoHundredGreedyRequestsOnSmolLM2EachEqualTheirSoloRun() async throws {
        let loaded = try ModelLoader.load(path: TestFiles.modelPath())
        let model = try #require(loaded.model)
        let golden = TestFiles.goldenDirectory + "/adapters/"
        let names = ["flora_r1", "flora_r4", "lora_r8", "ia3"]
        let weights = try Dictionary(uniqueKeysWithValues: names.map {
            ($0, try AdapterLoader.load(folder: golden + $0, name: $0, shapes: model.adapterShapes))
        })
        // 12 blocks = 192 tokens for up to 16 sequences of up to 107 tokens (7 blocks): the pool,
        // not the sequence limit, bounds the batch, and the burst preempts. (Before admission
        // kept a growth reserve this pool re-admitted and re-preempted prompts for minutes.)
        let engine = try Engine(
            model: model, tokenizer: loaded.tokenizer,
            config: EngineConfig(maxNumSeqs: 16, maxNumBatchedTokens: 256, kvCacheTokens: 192, maxResidentAdapters: 3))
        for name in names { try await engine.registerAdapter(name: name, path: golden + name) }

        var generator = SeededGenerator(seed: 17)
        struct Case: Sendable { let prompt: [Int32]; let adapter: String?; let maxTokens: Int; let delay: Int }
        let cases: [Case] = (0..<200).map { i in
            let long = i % 10 == 0   // these outgrow the growth reserve together and preempt
            let length = (long ? 36 : 4) + Int(generator.next() % 40)
            let pick = Int(generator.next() % UInt64(names.count + 2))
            return Case(
                prompt: (0..<length).map { _ in Int32(100 + generator.next() % 20_000) },
                adapter: pick < names.count ? names[pick] : nil,
                maxTokens: long ? 32 : 1 + Int(generator.next() % 6),
                delay: i < 100 ? 0 : (i - 100) / 8)  // a burst, then a trickle
        }
        let runs = await withTaskGroup(of: (Int, EngineRun).self) { group in
            for (i, c) in cases.enumerated() {
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(c.delay * 20))
                    let request = EngineRequest(promptTokens: c.prompt, parameters: SamplingParameters(maxTokens: c.maxTokens), adapterName: c.adapter)
                    return (i, await collect(engine.generate(request)))
                }
            }
            var runs = [EngineRun](repeating: EngineRun(), count: cases.count)
            for await (i, run) in group { runs[i] = run }
            return runs
        }
        let snapshot = await engine.snapshot()
        #expect(snapshot.freeKVBlocks == snapshot.totalKVBlocks)
        #expect(snapshot.preemptions > 0)
        for (i, c) in cases.enumerated() {
            #expect(runs[i].error == nil, "request \(i): \(String(describing: runs[i].error))")
            let expected = try soloGreedy(
                model: model, adapter: c.adapter.flatMap { weights[$0] }, prompt: c.prompt, maxTokens: c.maxTokens, stopToken: 2)
            #expect(runs[i].tokens == expected, "request \(i) (adapter \(c.adapter ?? "none"))")
        }
    }
}
