// Every golden adapter (fLoRA rank 1 and 4, PEFT LoRA rank 8, PEFT IA3) on the real SmolLM2,
// alone and mixed in one batch, against the reference values of PyTorch + PEFT (Tests/Fixtures/golden).

import FloraAdapters
import FloraModel
import FloraTensor
import FloraTestSupport
import Foundation
import Testing

struct GoldenTop: Decodable { let ids: [Int]; let values: [Float] }

struct GoldenSolo: Decodable {
    struct Greedy: Decodable { let new_ids: [Int32] }
    let prompts: [String]
    let top10: [String: [GoldenTop]]
    let greedy: [String: Greedy]
}

struct GoldenMixed: Decodable {
    struct Row: Decodable { let prompt_index: Int; let adapter: String; let prompt_ids: [Int32]; let batched_top10: GoldenTop; let solo_top10: GoldenTop }
    struct MixedBatch: Decodable { let row_adapters: [String]; let rows: [Row] }
    let batches: [String: MixedBatch]
}

enum Golden {
    static func decode<T: Decodable>(_ name: String, as type: T.Type) throws -> T {
        try JSONDecoder().decode(type, from: Data(contentsOf: URL(fileURLWithPath: TestFiles.goldenDirectory + "/" + name)))
    }
    static let adapterNames = ["flora_r1", "flora_r4", "lora_r8", "ia3"]

    /// A bank holding the four golden adapters; slot of each by name ("base": -1).
    static func bank(for model: LlamaModel, kernel: LoRAKernel) throws -> (AdapterBank, [String: Int32]) {
        let bank = try AdapterBank(capacity: 8, shapes: model.adapterShapes)
        bank.loraKernel = kernel
        var slots: [String: Int32] = ["base": -1]
        for name in adapterNames {
            let weights = try AdapterLoader.load(folder: TestFiles.goldenDirectory + "/adapters/" + name, name: name, shapes: model.adapterShapes)
            slots[name] = try bank.install(weights)
        }
        return (bank, slots)
    }

    /// Checks the reference's top ten ids and values against `logits` within 1e-3 relative.
    static func expectTop(_ logits: ArraySlice<Float>, _ top: GoldenTop, _ what: String) {
        let base = logits.startIndex
        for (id, value) in zip(top.ids, top.values) {
            let found = logits[base + id]
            #expect(abs(found - value) <= 1e-3 * max(abs(value), 1), "\(what): logit of token \(id) is \(found), reference \(value)")
        }
        let order = logits.indices.sorted { logits[$0] > logits[$1] }.prefix(3).map { $0 - base }
        #expect(order == Array(top.ids.prefix(3)), "\(what): best tokens \(order), reference \(top.ids.prefix(3))")
    }
}

@Suite struct GoldenAdapterTests {
    let solo: GoldenSolo
    let mixed: GoldenMixed
    /// Prompt ids by prompt index (the mixed batches list them).
    let promptIds: [Int: [Int32]]

    init() throws {
        solo = try Golden.decode("adapter_solo.json", as: GoldenSolo.self)
        mixed = try Golden.decode("mixed_batch.json", as: GoldenMixed.self)
        var ids: [Int: [Int32]] = [:]
        for batch in mixed.batches.values { for row in batch.rows { ids[row.prompt_index] = row.prompt_ids } }
        promptIds = ids
    }

    @Test(arguments: ["base"] + Golden.adapterNames, LoRAKernel.allCases)
    func eachAdapterAloneMatchesTheReferenceOnEveryPrompt(adapter: String, kernel: LoRAKernel) throws {
        let model = try RealModel.model()
        let (bank, slots) = try Golden.bank(for: model, kernel: kernel)
        let scratch = ForwardScratch(config: model.config)
        for (index, reference) in try #require(solo.top10[adapter]).enumerated() {
            let prompt = try #require(promptIds[index])
            let cache = PagedKVCache(config: model.config, blockCount: 4)
            var batch = Batch()
            batch.append(sequenceTokens: prompt, startPosition: 0, blockTable: [0, 1, 2, 3], adapterSlot: slots[adapter]!)
            let logits = Array(try model.forward(batch, cache: cache, scratch: scratch, adapters: bank))
            Golden.expectTop(logits[...], reference, "\(adapter) on prompt \(index)")
        }
    }

    @Test(arguments: ["base"] + Golden.adapterNames)
    func eachAdapterGreedilyContinuesTheReferencePrompt(adapter: String) throws {
        let model = try RealModel.model()
        let (bank, slots) = try Golden.bank(for: model, kernel: .segmented)
        let expected = try #require(solo.greedy[adapter]).new_ids
        let scratch = ForwardScratch(config: model.config)
        let cache = PagedKVCache(config: model.config, blockCount: 4)
        var tokens = try #require(promptIds[0])
        var computed = 0
        var generated: [Int32] = []
        while generated.count < expected.count {
            var batch = Batch()
            batch.append(sequenceTokens: Array(tokens[computed...]), startPosition: computed, blockTable: [0, 1, 2, 3], adapterSlot: slots[adapter]!)
            let logits = try model.forward(batch, cache: cache, scratch: scratch, adapters: bank)
            computed = tokens.count
            let next = Int32(logits.indices.max { logits[$0] < logits[$1] }!)
            generated.append(next)
            tokens.append(next)
        }
        #expect(generated == expected)
    }

    @Test(arguments: ["batch_A", "batch_B"], LoRAKernel.allCases)
    func aMixedBatchGivesEveryRowItsReference(name: String, kernel: LoRAKernel) throws {
        let model = try RealModel.model()
        let (bank, slots) = try Golden.bank(for: model, kernel: kernel)
        let reference = try #require(mixed.batches[name])
        let cache = PagedKVCache(config: model.config, blockCount: 16)
        var batch = Batch()
        for (i, row) in reference.rows.enumerated() {
            let first = Int32(i * 4)
            batch.append(sequenceTokens: row.prompt_ids, startPosition: 0, blockTable: Array(first..<(first + 4)), adapterSlot: slots[row.adapter]!)
        }
        let logits = Array(try model.forward(batch, cache: cache, scratch: ForwardScratch(config: model.config), adapters: bank))
        let vocabulary = model.config.vocabularySize
        for (i, row) in reference.rows.enumerated() {
            let rowLogits = logits[(i * vocabulary)..<((i + 1) * vocabulary)]  // [vocab]
            Golden.expectTop(rowLogits, row.batched_top10, "\(name) row \(i) (\(row.adapter)) against the batched reference")
            Golden.expectTop(rowLogits, row.solo_top10, "\(name) row \(i) (\(row.adapter)) against its solo reference")
        }
    }
}
