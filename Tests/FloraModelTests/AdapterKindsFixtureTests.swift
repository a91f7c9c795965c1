// DoRA and RoAd against PEFT (Tests/Fixtures/adapter-kinds, written by
// scripts/fixtures/make_adapter_kinds_fixtures.py): adapters PEFT made with random weights on the
// tiny Qwen2 of Tests/Fixtures/llama-family, and PEFT's logits at every position of its prompts.

import FloraAdapters
import FloraModel
import FloraTensor
import FloraTestSupport
import Foundation
import Testing

@Suite struct AdapterKindsFixtureTests {
    static let directory = TestFiles.repositoryRoot + "/Tests/Fixtures/adapter-kinds"
    static let peftAdapters = ["dora_r4", "dora_rs_pattern", "road_1", "road_2", "road_4"]

    let document: LlamaFamilyFixtures.Document
    let model: any CausalLanguageModel

    init() throws {
        document = try LlamaFamilyFixtures.document()
        let folder = try #require(document.models[LlamaFamilyFixtures.qwen2]).hf_folder
        model = try ModelLoader.load(path: LlamaFamilyFixtures.directory + "/" + folder).requireModel()
    }

    func load(_ name: String) throws -> AdapterWeights {
        try AdapterLoader.load(folder: Self.directory + "/" + name, name: name, shapes: model.adapterShapes, baseWeights: model)
    }

    func peftLogits(_ name: String) throws -> [Float] {
        // Little-endian float32, as the fixture script writes them.
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.directory + "/\(name).logits.f32"))
        var values = [Float](repeating: 0, count: data.count / 4)
        for i in values.indices {
            var bits: UInt32 = 0
            for byte in 0..<4 { bits |= UInt32(data[4 * i + byte]) << UInt32(8 * byte) }
            values[i] = Float(bitPattern: bits)
        }
        return values
    }

    @Test("Each PEFT DoRA and RoAd adapter alone gives PEFT's logits", arguments: peftAdapters, LoRAKernel.allCases)
    func eachAdapterAloneEqualsPEFT(name: String, kernel: LoRAKernel) throws {
        let weights = try load(name)
        #expect(weights.kind == (name.hasPrefix("dora") ? .dora : .road))
        let bank = try AdapterBank(capacity: 1, shapes: model.adapterShapes)
        bank.loraKernel = kernel
        let slot = try bank.install(weights)
        let expected = try peftLogits(name)
        let vocabulary = model.dimensions.vocabularySize
        for prompt in document.prompts {
            let actual = try promptLogits(model, prompt.ids, adapters: bank, slot: slot)
            let error = relativeError(actual, expected[prompt.logitRange(vocabularySize: vocabulary)])
            #expect(error <= 1e-4, "\(name) on '\(prompt.text)' (\(kernel)): relative error \(error)")
            let base = try promptLogits(model, prompt.ids)
            #expect(relativeError(base, actual) > 1e-2, "\(name) should change the logits")
        }
    }

    @Test("One batch holding base, fLoRA, LoRA, IA3, DoRA and RoAd rows gives each row its result alone", arguments: LoRAKernel.allCases)
    func mixedBatchEqualsEachRowAlone(kernel: LoRAKernel) throws {
        let shapes = model.adapterShapes
        var adapters = try Self.peftAdapters.map(load)
        for (i, kind) in [AdapterKind.flora, .lora, .ia3].enumerated() {
            adapters.append(try AdapterWeights.initialized(
                name: kind.rawValue, kind: kind, rank: 2 + i, targets: kind == .ia3 ? [.kProj, .vProj, .downProj] : TargetModule.llama,
                shapes: shapes, seed: 40 + UInt64(i), random: true, alpha: 6))
        }
        let bank = try AdapterBank(capacity: adapters.count, shapes: shapes)
        bank.loraKernel = kernel
        let slots = try [AdapterBank.noAdapter] + adapters.map { try bank.install($0) } + [try #require(bank.occupiedSlots.first)]
        let names = ["base"] + adapters.map(\.name) + [adapters[0].name]
        var batch = Batch()
        var nextBlock: Int32 = 0
        var layout: [(prompt: [Int32], firstToken: Int)] = []
        for (i, slot) in slots.enumerated() {
            let ids = document.prompts[i % document.prompts.count].ids
            let blocks = Int32((ids.count + 15) / 16)
            layout.append((ids, batch.tokenCount))
            batch.append(sequenceTokens: ids, startPosition: 0, blockTable: Array(nextBlock ..< nextBlock + blocks), adapterSlot: slot)
            nextBlock += blocks
        }
        batch.logitTokens = (0..<Int32(batch.tokenCount)).map { $0 }
        let cache = PagedKVCache(config: model.dimensions, blockCount: Int(nextBlock))
        let logits = Array(try model.forward(batch, cache: cache, scratch: ForwardScratch(config: model.dimensions), adapters: bank))
        let vocabulary = model.dimensions.vocabularySize
        for (i, (ids, first)) in layout.enumerated() {
            let alone = try promptLogits(model, ids, adapters: bank, slot: slots[i])
            let mixed = logits[first * vocabulary ..< (first + ids.count) * vocabulary]
            let error = relativeError(mixed, alone)
            #expect(error <= 1e-4, "row \(i) (\(names[i])) in the mixed batch (\(kernel)): relative error \(error)")
        }
    }

    @Test("A DoRA folder without the base weights is refused naming use_dora")
    func doraNeedsTheBaseWeights() throws {
        #expect { try AdapterLoader.load(folder: Self.directory + "/dora_r4", name: "d", shapes: model.adapterShapes) } throws: {
            "\($0)".contains("use_dora") && "\($0)".contains("adapter_config.json")
        }
    }
}
