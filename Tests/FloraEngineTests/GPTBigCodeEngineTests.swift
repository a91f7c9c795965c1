// The engine serving GPTBigCode (StarCoder's architecture): requests with every adapter kind
// share its steps, and each generates transformers' and PEFT's greedy tokens
// (Tests/Fixtures/gptbigcode).

import FloraEngine
import FloraModel
import FloraTestSupport
import Testing

@Suite struct GPTBigCodeEngineTests {
    @Test func requestsWithEveryAdapterKindInOneEngineGenerateTheReferenceGreedyTokens() async throws {
        typealias Fixtures = GPTBigCodeFixtures
        let document = try Fixtures.document()
        let reference = try #require(document.models[Fixtures.multiQuery])
        let loaded = try ModelLoader.load(path: Fixtures.directory + "/" + reference.hf_folder)
        // The references run 8 tokens whatever they are: no stop token ends a request early.
        let engine = try Engine(model: try loaded.requireModel(), tokenizer: loaded.tokenizer.ignoringStopTokens())
        for name in Fixtures.adapterNames {
            try await engine.registerAdapter(name: name, path: Fixtures.directory + "/adapters/" + name)
        }
        let names = ["base"] + Fixtures.adapterNames
        let prompt = document.prompts[0].ids
        let runs = await withTaskGroup(of: (String, EngineRun).self) { group in
            for name in names {
                group.addTask {
                    let request = EngineRequest(
                        promptTokens: prompt, parameters: SamplingParameters(maxTokens: 8), adapterName: name == "base" ? nil : name)
                    return (name, await collect(engine.generate(request)))
                }
            }
            var runs: [String: EngineRun] = [:]
            for await (name, run) in group { runs[name] = run }
            return runs
        }
        for name in names {
            let run = try #require(runs[name])
            #expect(run.error == nil, "\(name): \(String(describing: run.error))")
            #expect(run.tokens == reference.adapters[name]?.greedy_new_ids, "\(name)")
        }
        await engine.shutdown(timeout: .seconds(5))
    }
}
