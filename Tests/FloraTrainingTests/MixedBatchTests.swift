// One minibatch holding several adapters (and tokens without any): each adapter's gradient and
// loss equal those of a batch of its own examples alone; the training forward equals serving's.

import FloraAdapters
import FloraModel
import FloraTensor
import FloraTraining
import Testing

@Suite struct MixedBatchTests {
    @Test("Each adapter's gradient in a mixed minibatch equals its gradient on its own examples", arguments: [false, true])
    func mixedBatchGradientsEqualSoloGradients(keepActivations: Bool) throws {
        let model = try Tiny.model()
        let adapters = [
            try Tiny.adapter(.flora, rank: 2, model: model, seed: 1),
            try Tiny.adapter(.lora, rank: 3, targets: [.qProj, .vProj, .downProj], model: model, seed: 2),
            try Tiny.adapter(.ia3, targets: [.kProj, .vProj, .downProj], model: model, seed: 3),
            try Tiny.adapter(.flora, rank: 1, targets: [.oProj, .upProj], model: model, seed: 4, name: "flora-1"),
        ]
        let engine = try GradientEngine(model: model, adapters: adapters)
        engine.activationBudgetBytes = keepActivations ? Int.max : 0
        let v = model.config.vocabularySize
        // Interleaved on purpose: the batch groups them by adapter.
        var examples: [(example: TrainingExample, adapter: Int)] = []
        for round in 0..<2 {
            for (adapter, example) in [(2, 0), (0, 1), (-1, 2), (3, 0), (1, 1)] {
                examples.append((Tiny.examples(vocabulary: v, seed: UInt64(10 * round + adapter + 5))[example], adapter))
            }
        }
        for adapter in adapters { adapter.zeroGradients() }
        let mixed = try engine.accumulateGradients(TrainingBatch(examples: examples, adapterCount: adapters.count))
        let mixedGradients = adapters.map { $0.gradients.toArray() }

        for (index, adapter) in adapters.enumerated() {
            for other in adapters { other.zeroGradients() }
            let own = examples.filter { $0.adapter == index }
            let alone = try engine.accumulateGradients(TrainingBatch(examples: own, adapterCount: adapters.count))
            #expect(alone.counts[index] == mixed.counts[index])
            #expect(abs(alone.sums[index] - mixed.sums[index]) <= 1e-9 * abs(mixed.sums[index]) + 1e-9)
            let solo = adapter.gradients.toArray()
            let scale = solo.map { abs($0) }.max() ?? 0
            #expect(scale > 0, "adapter \(index) got no gradient")
            let difference = zip(solo, mixedGradients[index]).map { abs($0 - $1) }.max() ?? 0
            #expect(difference <= 1e-5 * scale, "adapter \(index): max difference \(difference) of max \(scale)")
            for (otherIndex, other) in adapters.enumerated() where otherIndex != index {
                #expect(other.gradients.toArray().allSatisfy { $0 == 0 }, "adapter \(otherIndex) changed by adapter \(index)'s examples")
            }
        }
    }

    @Test("The training forward gives the serving forward's logits", arguments: [AdapterKind.flora, .lora, .ia3])
    func trainingForwardMatchesServing(kind: AdapterKind) throws {
        let config = LlamaConfig(
            hiddenSize: 32, intermediateSize: 48, layerCount: 2, headCount: 4, kvHeadCount: 2, vocabularySize: 40,
            contextLength: 64, attentionBias: true)
        let model = try Tiny.model(config)
        let adapter = try Tiny.adapter(kind, rank: 2, model: model)
        let engine = try GradientEngine(model: model, adapters: [adapter])
        let tokens: [Int32] = [3, 17, 5, 39, 0, 22, 8, 8, 11, 30, 1]
        let training = try engine.logits(tokens: tokens, adapter: 0)

        let bank = try AdapterBank(capacity: 1, shapes: model.adapterShapes)
        let slot = try bank.install(adapter.weights())
        let cache = PagedKVCache(config: config, blockCount: 4)
        var batch = Batch()
        batch.append(sequenceTokens: tokens, startPosition: 0, blockTable: [0], adapterSlot: slot)
        batch.logitTokens = (0..<Int32(tokens.count)).map { $0 }
        let scratch = ForwardScratch(config: config)  // owns the returned logits
        let serving = try withExtendedLifetime(scratch) { Array(try model.forward(batch, cache: cache, scratch: scratch, adapters: bank)) }
        let scale = serving.map { abs($0) }.max()!
        let difference = zip(training, serving).map { abs($0 - $1) }.max()!
        #expect(difference <= 1e-5 * scale, "max difference \(difference) of max \(scale)")
    }
}
