// fLoRA's merged weights kept across steps, in the engine on the real SmolLM2 with exact
// products: sequences decoding side by side through their adapters' kept W' give the greedy
// tokens each gives alone through the row expansion.

import FloraAdapters
import FloraEngine
import FloraFormats
import FloraModel
import FloraTensor
import FloraTestSupport
import Foundation
import Testing

@Suite struct KeptMergedWeightEngineTests {
    @Test func sequencesDecodingThroughKeptMergedWeightsEqualTheirSoloExpansion() async throws {
        let loaded = try ModelLoader.load(path: TestFiles.modelPath(), products: .exact)
        let model = try #require(loaded.model)
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let adapters = try [("high", 32), ("low", 4)].map { name, rank in
            let weights = try AdapterWeights.initialized(
                name: name, kind: .flora, rank: rank, targets: [.qProj, .vProj, .oProj], shapes: model.adapterShapes,
                seed: UInt64(rank), random: true)
            try AdapterWriter.write(weights, to: directory + "/" + name)
            return weights
        }
        // `.always` merges every fLoRA group, so every decode step of both adapters reads a kept W';
        // the budget holds both adapters' weights.
        let engine = try Engine(
            model: model, tokenizer: loaded.tokenizer,
            config: EngineConfig(maxNumSeqs: 8, groupMerge: .always, mergedWeightBytes: 512 << 20))
        for weights in adapters { try await engine.registerAdapter(name: weights.name, path: directory + "/" + weights.name) }

        var generator = SeededGenerator(seed: 23)
        let prompts: [[Int32]] = (0..<4).map { _ in (0..<(5 + Int(generator.next() % 20))).map { _ in Int32(100 + generator.next() % 20_000) } }
        let runs = await withTaskGroup(of: (Int, EngineRun).self) { group in
            for (i, prompt) in prompts.enumerated() {
                group.addTask {
                    let request = EngineRequest(
                        promptTokens: prompt, parameters: SamplingParameters(maxTokens: 10), adapterName: adapters[i % 2].name)
                    return (i, await collect(engine.generate(request)))
                }
            }
            var runs = [EngineRun](repeating: EngineRun(), count: prompts.count)
            for await (i, run) in group { runs[i] = run }
            return runs
        }
        let kept = await engine.snapshot().mergedWeightBytes
        #expect(kept > 0 && kept <= 512 << 20, "kept merged weights: \(kept) bytes")
        for (i, prompt) in prompts.enumerated() {
            #expect(runs[i].error == nil, "request \(i): \(String(describing: runs[i].error))")
            let expected = try soloGreedy(model: model, adapter: adapters[i % 2], prompt: prompt, maxTokens: 10, stopToken: 2)
            #expect(runs[i].tokens == expected, "request \(i) (adapter \(adapters[i % 2].name))")
        }
    }
}
