// The backward pass against central finite differences of the loss, on tiny random models of
// every architecture, for every adapter kind and every target module, with activations kept and
// recomputed. DoRA and RoAd are checked for each of their tensors (and RoAd for each variant).

import FloraAdapters
import FloraFormats
import FloraModel
import FloraTensor
import FloraTraining
import Testing

@Suite struct GradientCheckTests {
    static let cases: [(TinyArchitecture, AdapterKind, Int, Bool, Bool)] = [
        (.llama, .flora, 1, false, false), (.llama, .flora, 3, true, false), (.llama, .lora, 2, false, false), (.llama, .lora, 4, true, false),
        (.llama, .ia3, 1, false, false), (.llama, .ia3, 1, true, false),
        (.llama, .flora, 2, false, true), (.llama, .lora, 2, true, true), (.llama, .ia3, 1, false, true),
    ] + [TinyArchitecture.starcoder, .starcoderMultiHead].flatMap { architecture in
        [(architecture, AdapterKind.flora, 1, false, false), (architecture, .flora, 3, true, false), (architecture, .lora, 2, false, false),
         (architecture, .lora, 4, true, false), (architecture, .ia3, 1, false, false), (architecture, .ia3, 1, true, false)]
    }

    /// DoRA (m, A, B) and RoAd (θ, α of every variant); the input gradient of each layer-1
    /// module reaches the layer-0 adapters, so their checks cover it too. DoRA's norm is a
    /// constant of the gradient (PEFT detaches it) and the loss keeps it fixed between
    /// `refreshNorms()` calls, so the differences see the same function the gradient does.
    static let decomposedCases: [(TinyArchitecture, AdapterKind, Int, PEFTConfig.RoadVariant, Bool, Bool)] = [
        (.llama, .dora, 2, .road1, false, false), (.llama, .dora, 3, .road1, true, true), (.starcoder, .dora, 2, .road1, false, false),
        (.starcoderMultiHead, .dora, 1, .road1, true, false),
        (.llama, .road, 1, .road1, false, false), (.llama, .road, 1, .road2, true, true), (.llama, .road, 1, .road4, false, false),
        (.starcoder, .road, 1, .road2, false, false), (.starcoderMultiHead, .road, 1, .road4, true, false),
    ]

    @Test("Adapter gradients match central differences at every target module", arguments: cases)
    func gradientsMatchFiniteDifferences(
        architecture: TinyArchitecture, kind: AdapterKind, rank: Int, keepActivations: Bool, attentionBias: Bool
    ) throws {
        let model = try Tiny.model(architecture, attentionBias: attentionBias)  // attentionBias: Qwen2's biased q, k, v
        try Self.check(try Tiny.adapter(kind, rank: rank, model: model), model: model, keepActivations: keepActivations)
    }

    @Test("DoRA and RoAd gradients match central differences at every target module", arguments: decomposedCases)
    func decomposedGradientsMatchFiniteDifferences(
        architecture: TinyArchitecture, kind: AdapterKind, rank: Int, variant: PEFTConfig.RoadVariant, keepActivations: Bool,
        attentionBias: Bool
    ) throws {
        let model = try Tiny.model(architecture, attentionBias: attentionBias)
        let adapter = try Tiny.adapter(kind, rank: rank, model: model, roadVariant: variant)
        #expect(adapter.modules.allSatisfy { $0.parameterRanges.count == (kind == .dora ? 3 : 2) })
        // Some blocks' directional derivatives are only a few 1e-4 here, and the quotient's fp32
        // noise reaches ~1.3e-5 (measured: it shrinks with larger steps and settles on the
        // analytic value; larger steps cannot be used for every block, whose h⁴ error then shows).
        try Self.check(adapter, model: model, keepActivations: keepActivations, absoluteTolerance: 3e-5)
    }

    /// Directional derivatives along random directions of each (layer, module, tensor) block:
    /// `(L(θ + εδ) − L(θ − εδ)) / 2ε` against `∇L · δ`.
    static func check(_ adapter: TrainableAdapter, model: any CausalLanguageModel, keepActivations: Bool, absoluteTolerance: Double = 1e-5) throws {
        let engine = try GradientEngine(model: model, adapters: [adapter])
        engine.activationBudgetBytes = keepActivations ? Int.max : 0
        let batch = try TrainingBatch(
            examples: Tiny.examples(vocabulary: model.dimensions.vocabularySize, seed: 3).map { ($0, 0) }, adapterCount: 1)
        adapter.zeroGradients()
        _ = try engine.accumulateGradients(batch)
        #expect(engine.lastPassKeptActivations == keepActivations)

        func objective() throws -> Double { try engine.loss(batch).mean(0)! }
        var generator = SeededGenerator(seed: 17)
        var checked = Set<TargetModule>()
        let epsilon: Float = 1e-2
        for module in adapter.modules {
            for range in module.parameterRanges {
                var direction = range.map { _ in Double(generator.nextGaussian()) }
                let norm = direction.reduce(0) { $0 + $1 * $1 }.squareRoot()
                direction = direction.map { $0 / norm }
                let p = adapter.parameters.pointer + range.lowerBound
                let analytic = dot(adapter.gradients.pointer + range.lowerBound, direction, count: range.count)
                let saved = Array(UnsafeBufferPointer(start: p, count: range.count))
                /// The central difference at step h.
                func central(_ h: Float) throws -> Double {
                    for i in 0..<range.count { p[i] = saved[i] + h * Float(direction[i]) }
                    let plus = try objective()
                    for i in 0..<range.count { p[i] = saved[i] - h * Float(direction[i]) }
                    let minus = try objective()
                    for i in 0..<range.count { p[i] = saved[i] }
                    return (plus - minus) / (2 * Double(h))
                }
                // Richardson: the h² terms of two steps cancel, leaving h⁴ and fp32 rounding.
                let numeric = (4 * (try central(epsilon)) - (try central(2 * epsilon))) / 3
                let error = abs(numeric - analytic)
                // fp32 rounding of the loss leaves about 3e-6 of noise in the difference quotient.
                #expect(error <= 1e-3 * abs(analytic) + absoluteTolerance,
                        "layer \(module.key.layer) \(module.key.module.rawValue) [\(range)]: analytic \(analytic), numeric \(numeric)")
                checked.insert(module.key.module)
            }
        }
        #expect(checked == Set(Tiny.targets(model)))
    }
}
