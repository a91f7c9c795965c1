// Thousands of registered adapters with a handful resident, and adapters that break on disk.

import FloraAdapters
import FloraEngine
import FloraModel
import FloraTensor
import FloraTestSupport
import Foundation
import Testing

@Suite struct EngineAdapterCacheTests {
    @Test func twoThousandRegisteredAdaptersWithEightResidentServeEveryRequestCorrectly() async throws {
        let model = try TinyModels.model()
        let directory = try temporaryDirectory()
        let distinct = try TinyModels.writeRandomAdapters(count: 24, to: directory, model: model, seed: 5)
        let engine = try Engine(
            model: model, tokenizer: TinyModels.tokenizer(),
            config: EngineConfig(maxNumSeqs: 16, maxNumBatchedTokens: 64, kvCacheTokens: 2048, maxResidentAdapters: 8))
        // 2,000 names over 24 folders: the registry is by name, each load reads its folder.
        let names = (0..<2000).map { "user-\($0)" }
        for (i, name) in names.enumerated() {
            try await engine.registerAdapter(name: name, path: directory + "/" + distinct[i % distinct.count])
        }
        let weights = try distinct.map { try AdapterLoader.load(folder: directory + "/" + $0, name: $0, shapes: model.adapterShapes, baseWeights: model) }
        let picks = stride(from: 0, to: 2000, by: 37).map { $0 }   // 55 requests over the whole registry
        let runs = await withTaskGroup(of: (Int, EngineRun).self) { group in
            for i in picks {
                group.addTask {
                    let request = EngineRequest(promptTokens: [Int32(i % 256), 66, 67], parameters: SamplingParameters(maxTokens: 5), adapterName: names[i])
                    return (i, await collect(engine.generate(request)))
                }
            }
            var runs: [Int: EngineRun] = [:]
            for await (i, run) in group { runs[i] = run }
            return runs
        }
        for i in picks {
            let expected = try soloGreedy(model: model, adapter: weights[i % distinct.count], prompt: [Int32(i % 256), 66, 67], maxTokens: 5)
            #expect(runs[i]?.error == nil)
            #expect(runs[i]?.tokens == expected, "request with \(names[i])")
        }
        let snapshot = await engine.snapshot()
        #expect(snapshot.registeredAdapters == 2000)
        #expect(snapshot.residentAdapters.count <= 8)
    }

    @Test func anAdapterDeletedOrCorruptedOnDiskFailsOnlyItsOwnRequests() async throws {
        let model = try TinyModels.model()
        let directory = try temporaryDirectory()
        let names = try TinyModels.writeRandomAdapters(count: 3, to: directory, model: model, seed: 9)
        let engine = try Engine(model: model, tokenizer: TinyModels.tokenizer(), config: EngineConfig(kvCacheTokens: 2048, maxResidentAdapters: 2))
        for name in names { try await engine.registerAdapter(name: name, path: directory + "/" + name) }
        try FileManager.default.removeItem(atPath: directory + "/" + names[0])
        let corrupt = directory + "/" + names[1] + "/adapter_model.safetensors"
        let bytes = try Data(contentsOf: URL(fileURLWithPath: corrupt))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: corrupt))

        let runs = await withTaskGroup(of: (Int, EngineRun).self) { group in
            for i in 0..<9 {
                group.addTask {
                    let adapter: String? = i % 4 == 3 ? nil : names[i % 4]
                    return (i, await collect(engine.generate(EngineRequest(promptTokens: [70, 71], parameters: SamplingParameters(maxTokens: 4), adapterName: adapter))))
                }
            }
            var runs: [Int: EngineRun] = [:]
            for await (i, run) in group { runs[i] = run }
            return runs
        }
        for i in 0..<9 {
            let run = try #require(runs[i])
            switch i % 4 {
            case 0, 1:
                let message = run.error.map { "\($0)" } ?? ""
                #expect(message.contains(names[i % 4]), "request \(i) should fail naming its adapter, got '\(message)'")
            default:
                #expect(run.error == nil && run.tokens.count == 4, "request \(i) must not be disturbed")
            }
        }
        let snapshot = await engine.snapshot()
        #expect(snapshot.freeKVBlocks == snapshot.totalKVBlocks)
    }
}
