// One minibatch holding several adapters (and tokens without any): each adapter's gradient and
// loss equal those of a batch of its own examples alone; the training forward equals serving's.

import FloraAdapters
import FloraFormats
import FloraModel
import FloraTensor
import FloraTraining
import Testing

@Suite struct MixedBatchTests {
    @Test("Each adapter's gradient in a mixed minibatch equals its gradient on its own examples", arguments: TinyArchitecture.allCases, [false, true])
    func mixedBatchGradientsEqualSoloGradients(architecture: TinyArchitecture, keepActivations: Bool) throws {
        let model = try Tiny.model(architecture)
        // Each adapter on other modules; IA3 on an attention output and an MLP input; every kind at once.
        let targets: [[TargetModule]] = architecture == .llama
            ? [[.qProj, .vProj, .downProj], [.kProj, .vProj, .downProj], [.oProj, .upProj]]
            : [[.cAttn, .mlpCProj], [.cAttn, .mlpCProj], [.attnCProj, .cFc]]
        let adapters = [
            try Tiny.adapter(.flora, rank: 2, model: model, seed: 1),
            try Tiny.adapter(.lora, rank: 3, targets: targets[0], model: model, seed: 2),
            try Tiny.adapter(.ia3, targets: targets[1], model: model, seed: 3),
            try Tiny.adapter(.flora, rank: 1, targets: targets[2], model: model, seed: 4, name: "flora-1"),
            try Tiny.adapter(.dora, rank: 2, targets: targets[1], model: model, seed: 6),
            try Tiny.adapter(.road, targets: targets[0], model: model, seed: 7, roadVariant: .road4),
        ]
        let engine = try GradientEngine(model: model, adapters: adapters)
        engine.activationBudgetBytes = keepActivations ? Int.max : 0
        let v = model.dimensions.vocabularySize
        // Interleaved on purpose: the batch groups them by adapter.
        var examples: [(example: TrainingExample, adapter: Int)] = []
        for round in 0..<2 {
            for (adapter, example) in [(2, 0), (0, 1), (5, 1), (-1, 2), (3, 0), (4, 2), (1, 1)] {
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

    /// An adapter kind, with RoAd's variant.
    struct Choice: Sendable, CustomTestStringConvertible {
        var kind: AdapterKind
        var variant: PEFTConfig.RoadVariant = .road1
        var testDescription: String { kind == .road ? variant.rawValue : kind.rawValue }
    }

    static let choices = [AdapterKind.flora, .lora, .ia3, .dora, .road].map { Choice(kind: $0) }
        + [Choice(kind: .road, variant: .road2), Choice(kind: .road, variant: .road4)]

    @Test("The training forward gives the serving forward's logits", arguments: TinyArchitecture.allCases, choices)
    func trainingForwardMatchesServing(architecture: TinyArchitecture, choice: Choice) throws {
        let model = try Tiny.model(architecture, attentionBias: true)
        let adapter = try Tiny.adapter(choice.kind, rank: 2, model: model, roadVariant: choice.variant)
        let engine = try GradientEngine(model: model, adapters: [adapter])
        let tokens: [Int32] = [3, 17, 5, 39, 0, 22, 8, 8, 11, 30, 1]
        let training = try engine.logits(tokens: tokens, adapter: 0)
        let serving = try Tiny.servingLogits(model, tokens: tokens, adapter: adapter.weights())
        let (difference, scale) = maxDifference(training, serving)
        #expect(training.count == serving.count && scale > 0)
        #expect(difference <= 1e-5 * scale, "max difference \(difference) of max \(scale)")
    }

    /// Positions (rotary's, or GPTBigCode's learned embeddings) restart at 0 in every segment of
    /// a packed sequence, and attention stays inside the segment: a segment scores as it would alone.
    @Test("A packed segment's loss is the loss it has alone", arguments: TinyArchitecture.allCases)
    func packedSegmentsScoreAsAlone(architecture: TinyArchitecture) throws {
        let model = try Tiny.model(architecture)
        let adapter = try Tiny.adapter(.lora, rank: 2, model: model)
        let engine = try GradientEngine(model: model, adapters: [adapter])
        let first: [Int32] = [3, 17, 5, 39, 0, 22], second: [Int32] = [8, 8, 11, 30, 1, 2, 9]
        func loss(_ examples: [TrainingExample]) throws -> Double {
            try engine.loss(TrainingBatch(examples: examples.map { ($0, 0) }, adapterCount: 1)).sums[0]
        }
        let packed = try loss([TrainingExample(tokens: first + second, segmentStarts: [0, first.count])])
        let alone = try loss([TrainingExample(tokens: first)]) + loss([TrainingExample(tokens: second)])
        #expect(abs(packed - alone) <= 1e-5 * abs(alone), "packed \(packed), alone \(alone)")
    }
}
