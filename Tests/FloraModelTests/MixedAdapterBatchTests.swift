// Property tests of the whole model on tiny random weights: any mix of adapter kinds, ranks
// (1–64) and target modules in one forward equals each sequence run alone.

import FloraAdapters
import FloraModel
import FloraTensor
import FloraTestSupport
import Testing

@Suite struct MixedAdapterBatchTests {
    static func randomAdapter(_ generator: inout SeededGenerator, shapes: AdapterTargetShapes, index: Int) throws -> AdapterWeights {
        let kind = AdapterKind.allCases[Int(generator.next() % 3)]
        let rank = [1, 2, 3, 8, 17, 32, 64][Int(generator.next() % 7)]
        var targets = TargetModule.llama.filter { _ in generator.next() % 2 == 0 }
        if targets.isEmpty { targets = [.qProj] }
        return try AdapterWeights.initialized(
            name: "a\(index)", kind: kind, rank: kind == .ia3 ? 1 : rank, targets: targets, shapes: shapes,
            seed: generator.next(), random: true)
    }

    @Test(arguments: [1, 2, 3] as [UInt64], LoRAKernel.allCases)
    func aRandomMixInOneForwardEqualsEachSequenceAlone(seed: UInt64, kernel: LoRAKernel) throws {
        let model = try TinyModels.model()
        var generator = SeededGenerator(seed: seed)
        let bank = try AdapterBank(capacity: 12, shapes: model.adapterShapes)
        bank.loraKernel = kernel
        var slots: [AdapterSlot] = [AdapterBank.noAdapter]
        for i in 0..<10 { slots.append(try bank.install(Self.randomAdapter(&generator, shapes: model.adapterShapes, index: i))) }

        var prompts: [(tokens: [Int32], slot: AdapterSlot)] = []
        for _ in 0..<14 {
            let length = 1 + Int(generator.next() % 30)
            prompts.append(((0..<length).map { _ in Int32(generator.next() % 256) }, slots[Int(generator.next() % UInt64(slots.count))]))
        }
        let cache = PagedKVCache(config: model.config, blockCount: 64)
        var batch = Batch()
        for (i, prompt) in prompts.enumerated() {
            batch.append(sequenceTokens: prompt.tokens, startPosition: 0, blockTable: [Int32(2 * i), Int32(2 * i + 1)], adapterSlot: prompt.slot)
        }
        let logits = try model.forward(batch, cache: cache, scratch: ForwardScratch(config: model.config), adapters: bank)

        for (i, prompt) in prompts.enumerated() {
            let soloCache = PagedKVCache(config: model.config, blockCount: 2)
            var solo = Batch()
            solo.append(sequenceTokens: prompt.tokens, startPosition: 0, blockTable: [0, 1], adapterSlot: prompt.slot)
            let alone = try model.forward(solo, cache: soloCache, scratch: ForwardScratch(config: model.config), adapters: bank).row(0)
            #expect(maxRelativeError(logits.row(i), alone) < 1e-4, "sequence \(i) with slot \(prompt.slot)")
        }
    }

    @Test(arguments: [1, 4, 16])
    func anAllOnesFLoRAAdapterOnEveryModuleGivesTheBaseModel(rank: Int) throws {
        let model = try TinyModels.model()
        let ones = try AdapterWeights.initialized(
            kind: .flora, rank: rank, targets: TargetModule.llama, shapes: model.adapterShapes, seed: 0, symmetryNoise: 0)
        let bank = try AdapterBank(capacity: 1, shapes: model.adapterShapes)
        let slot = try bank.install(ones)
        let prompt: [Int32] = Array("all ones".utf8).map(Int32.init)
        func run(_ slot: AdapterSlot) throws -> [Float] {
            var batch = Batch()
            batch.append(sequenceTokens: prompt, startPosition: 0, blockTable: [0], adapterSlot: slot)
            return try model.forward(batch, cache: PagedKVCache(config: model.config, blockCount: 1), scratch: ForwardScratch(config: model.config), adapters: bank).row(0)
        }
        let base = try run(AdapterBank.noAdapter)
        let adapted = try run(slot)
        if rank == 1 {
            #expect(adapted == base, "rank 1 all-ones fLoRA is exactly the base model")
        } else {
            #expect(maxRelativeError(adapted, base) < 1e-5)
        }
    }
}
