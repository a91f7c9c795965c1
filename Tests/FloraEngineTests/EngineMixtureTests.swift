// Requests for adapter mixtures through a real engine on the tiny model: each equals a solo run
// with the mixture built directly (AdapterWeights.mixing, itself checked against a dense merge),
// beside plain adapter requests in the same batches.

import FloraAdapters
import FloraEngine
import FloraModel
import FloraTensor
import FloraTestSupport
import Foundation
import Testing

@Suite struct EngineMixtureTests {
    @Test(arguments: [AdapterKind.flora, .lora, .ia3])
    func mixtureRequestsEqualTheirMixedAdapterAloneInABusyBatch(kind: AdapterKind) async throws {
        let model = try TinyModels.model()
        let directory = try temporaryDirectory()
        let names = try TinyModels.writeRandomAdapters(count: 3, to: directory, model: model, seed: 31, kinds: [kind])
        let engine = try Engine(model: model, tokenizer: TinyModels.tokenizer(), config: EngineConfig(kvCacheTokens: 4096, maxResidentAdapters: 4))
        for name in names { try await engine.registerAdapter(name: name, path: directory + "/" + name) }
        let loaded = try names.map { try AdapterLoader.load(folder: directory + "/" + $0, name: $0, shapes: model.adapterShapes) }
        let mixtures: [[AdapterMixture.Part]] = [
            [.init(name: names[0], weight: 0.7), .init(name: names[1], weight: 0.3)],
            [.init(name: names[2], weight: 0.5)],
            [.init(name: names[1], weight: 1.5), .init(name: names[0], weight: -0.25), .init(name: names[2], weight: 0.1)],
        ]
        let requests: [(prompt: [Int32], mixture: AdapterMixture?, adapter: String?)] = try (0..<12).map { i in
            let prompt: [Int32] = [Int32(40 + i), 41, 42, Int32(90 + i)]
            return i % 2 == 0 ? (prompt, try AdapterMixture(mixtures[i / 2 % 3]), nil) : (prompt, nil, names[i % 3])
        }
        let runs = await withTaskGroup(of: (Int, EngineRun).self) { group in
            for (i, r) in requests.enumerated() {
                group.addTask {
                    let parameters = SamplingParameters(maxTokens: 6)
                    let request = r.mixture.map { EngineRequest(promptTokens: r.prompt, parameters: parameters, mixture: $0) }
                        ?? EngineRequest(promptTokens: r.prompt, parameters: parameters, adapterName: r.adapter)
                    return (i, await collect(engine.generate(request)))
                }
            }
            var runs: [Int: EngineRun] = [:]
            for await (i, run) in group { runs[i] = run }
            return runs
        }
        var outputs = Set<[Int32]>()
        for (i, r) in requests.enumerated() {
            let adapter: AdapterWeights
            if let mixture = r.mixture {
                let parts = mixture.parts.map { part in (adapter: loaded[names.firstIndex(of: part.name)!], weight: part.weight) }
                adapter = try AdapterWeights.mixing(parts, name: mixture.name)
            } else {
                adapter = loaded[names.firstIndex(of: r.adapter!)!]
            }
            let expected = try soloGreedy(model: model, adapter: adapter, prompt: r.prompt, maxTokens: 6)
            #expect(runs[i]?.error == nil, "request \(i): \(String(describing: runs[i]?.error))")
            #expect(runs[i]?.tokens == expected, "request \(i) (\(r.mixture?.name ?? r.adapter!))")
            outputs.insert(expected)
        }
        #expect(outputs.count > 1, "outputs that do not depend on the adapters check nothing")
        let snapshot = engine.snapshot()
        #expect(snapshot.freeKVBlocks == snapshot.totalKVBlocks)
        #expect(engine.registeredAdapterNames == names.sorted(), "mixtures are not listed as registered adapters")
    }

    @Test func aMixtureFollowsItsPartsAndRefusesWhatItCannotBe() async throws {
        let model = try TinyModels.model()
        let directory = try temporaryDirectory()
        let floras = try TinyModels.writeRandomAdapters(count: 3, to: directory, model: model, seed: 41, kinds: [.flora])
        let lora = try TinyModels.writeRandomAdapters(count: 1, to: directory + "/lora", model: model, seed: 42, kinds: [.lora])[0]
        let engine = try Engine(model: model, tokenizer: TinyModels.tokenizer(), config: EngineConfig(kvCacheTokens: 2048, maxResidentAdapters: 4))
        try await engine.registerAdapter(name: "a", path: directory + "/" + floras[0])
        try await engine.registerAdapter(name: "b", path: directory + "/" + floras[1])
        try await engine.registerAdapter(name: "l", path: directory + "/lora/" + lora)
        let prompt: [Int32] = [50, 51, 52]
        func run(_ parts: [AdapterMixture.Part]) async throws -> EngineRun {
            await collect(engine.generate(EngineRequest(promptTokens: prompt, parameters: SamplingParameters(maxTokens: 5), mixture: try AdapterMixture(parts))))
        }
        func expected(_ folders: [String], _ weights: [Float]) throws -> [Int32] {
            let parts = try zip(folders, weights).map { folder, weight in
                (adapter: try AdapterLoader.load(folder: directory + "/" + folder, name: folder, shapes: model.adapterShapes), weight: weight)
            }
            return try soloGreedy(model: model, adapter: try AdapterWeights.mixing(parts, name: "m"), prompt: prompt, maxTokens: 5)
        }
        let mixture: [AdapterMixture.Part] = [.init(name: "a", weight: -1), .init(name: "b", weight: 3)]
        let before = try await run(mixture).tokens
        #expect(before == (try expected([floras[0], floras[1]], [-1, 3])))
        // The same mixture after its part "b" now names another folder: mixed again from it.
        try await engine.registerAdapter(name: "b", path: directory + "/" + floras[2])
        let after = try await run(mixture).tokens
        #expect(after == (try expected([floras[0], floras[2]], [-1, 3])))
        #expect(before != after, "the parts must matter for this check to mean anything")

        let unknown = try await run([.init(name: "a", weight: 0.5), .init(name: "nope", weight: 0.5)])
        #expect((unknown.error as? EngineError) == .unknownAdapter("nope"))
        let mixedKinds = try await run([.init(name: "a", weight: 0.5), .init(name: "l", weight: 0.5)])
        #expect("\(mixedKinds.error.map { "\($0)" } ?? "")".contains("must be of one kind"))
        let snapshot = engine.snapshot()
        #expect(snapshot.freeKVBlocks == snapshot.totalKVBlocks)
    }
}
