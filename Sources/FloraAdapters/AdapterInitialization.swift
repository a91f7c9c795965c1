// Fresh adapters: the training start points of DESIGN.md section 6, or random ones for tests
// and benchmarks. Seeded and deterministic: draws go layer by layer (ascending), modules in
// TargetModule order, A before B.

import FloraFormats
import FloraTensor

extension AdapterWeights {
    /// A new adapter on `targets` of every layer.
    ///
    /// Start points (`random == false`): fLoRA `A = B = 1` plus `symmetryNoise · N(0, 1)` when
    /// rank > 1 (pass 0 for the exact identity; rank 1 is always exact); LoRA as PEFT, `A`
    /// Kaiming-uniform (`U(±1/√d_in)`), `B = 0`; IA3 ones; DoRA as LoRA with the magnitude
    /// `‖W + s·B A‖` (PEFT's start, the base layer); RoAd `θ = 0`, `α = 1`.
    /// Random (`random == true`): fLoRA `1 + 0.1·N(0, 1)`; LoRA `A` Kaiming-uniform and `B`
    /// `U(±1/√r)` (non-zero, as PEFT's `init_lora_weights=False`); IA3 `1 + 0.1·N(0, 1)`; DoRA as
    /// LoRA with the magnitude times `1 + 0.1·N(0, 1)`; RoAd `θ = 0.1·N(0, 1)`, `α = 1 + 0.1·N(0, 1)`.
    ///
    /// - Parameters:
    ///   - alpha: LoRA's `lora_alpha`; defaults to `rank` (scale 1).
    ///   - feedForward: IA3's `feedforward_modules`; defaults, as PEFT's, to the MLP's output layer among `targets`.
    ///   - baseWeights: the model's weights, which DoRA's magnitude needs (required for DoRA).
    ///   - roadVariant, groupSize: RoAd's variant and group size (a divisor of every target's
    ///     outputs; by default the largest such even number up to PEFT's default 64).
    public static func initialized(
        name: String = "adapter", kind: AdapterKind, rank: Int, targets: [TargetModule], shapes: AdapterTargetShapes,
        seed: UInt64, random: Bool = false, alpha: Float? = nil, useRSLoRA: Bool = false,
        symmetryNoise: Float = 1e-3, feedForward: [TargetModule]? = nil,
        baseWeights: (any AdapterBaseWeights)? = nil, roadVariant: PEFTConfig.RoadVariant = .road1, groupSize: Int? = nil
    ) throws -> AdapterWeights {
        if kind == .dora, baseWeights == nil {
            throw AdapterError.invalidArgument(
                what: "base weights for DoRA adapter '\(name)'", expected: "the model's weights (DoRA's magnitude is ‖W + s·B A‖)", found: "none")
        }
        guard rank > 0 else { throw AdapterError.invalidArgument(what: "rank", expected: "at least 1", found: "\(rank)") }
        guard !targets.isEmpty else { throw AdapterError.invalidArgument(what: "targets", expected: "at least one module", found: "none") }
        for module in targets where !shapes.has(module) {
            throw AdapterError.shapeMismatch(adapter: name, expected: "a module the model has (\(shapes))", found: module.rawValue)
        }
        let targetSet = Set(targets)
        var roadGroupSize = groupSize ?? 64
        if kind == .road, groupSize == nil {
            let outputs = targets.map { shapes.outputs($0) }
            guard let g = RoadRotation.largestGroupSize(dividing: outputs) else {
                throw AdapterError.invalidArgument(what: "RoAd group size", expected: "an even divisor of every target's outputs", found: "outputs \(outputs)")
            }
            roadGroupSize = g
        }
        let feedForwardSet = Set(feedForward ?? targets.filter(\.readsMLPActivation))
        var generator = SeededGenerator(seed: seed)
        let loraAlpha = alpha ?? Float(rank)
        var modules: [AdapterModuleKey: AdapterModuleWeights] = [:]
        for layer in 0..<shapes.layers {
            for module in TargetModule.allCases where targetSet.contains(module) {
                let (d_in, d_out) = (shapes.inputs(module), shapes.outputs(module))
                let key = AdapterModuleKey(layer: layer, module: module)
                switch kind {
                case .flora:
                    let noise: Float = random ? 0.1 : (rank > 1 ? symmetryNoise : 0)
                    let a = (0..<rank * d_in).map { _ in 1 + noise * generator.nextGaussian() }
                    let b = (0..<d_out * rank).map { _ in 1 + noise * generator.nextGaussian() }
                    modules[key] = .flora(try FloraFactors(rank: rank, inputs: d_in, outputs: d_out, a: a, b: b))
                case .lora, .dora:
                    let boundA = 1 / Float(d_in).squareRoot()
                    let a = (0..<rank * d_in).map { _ in generator.nextUniform(-boundA, boundA) }
                    let boundB = 1 / Float(rank).squareRoot()
                    let b = random ? (0..<d_out * rank).map { _ in generator.nextUniform(-boundB, boundB) }
                                   : [Float](repeating: 0, count: d_out * rank)
                    let lora = try LoRAFactors(rank: rank, inputs: d_in, outputs: d_out, a: a, b: b, alpha: loraAlpha, useRSLoRA: useRSLoRA)
                    guard kind == .dora else {
                        modules[key] = .lora(lora)
                        continue
                    }
                    guard let w = baseWeights?.adapterBaseWeight(layer: layer, module: module) else {
                        throw AdapterError.shapeMismatch(adapter: name, expected: "a base weight for \(module.rawValue)", found: "none in layer \(layer)")
                    }
                    let magnitude = DoRAFactors.rowNorms(lora, baseWeight: w).map { norm in
                        Float(norm) * (random ? 1 + 0.1 * generator.nextGaussian() : 1)
                    }
                    modules[key] = .dora(try DoRAFactors(lora: lora, magnitude: magnitude, baseWeight: w))
                case .road:
                    let count = RoadRotation.valueCount(roadVariant, outputs: d_out)
                    let theta = (0..<count).map { _ in random ? 0.1 * generator.nextGaussian() : 0 }
                    let alpha = (0..<count).map { _ in random ? 1 + 0.1 * generator.nextGaussian() : 1 }
                    modules[key] = .road(try RoadRotation(
                        variant: roadVariant, groupSize: roadGroupSize, inputs: d_in, outputs: d_out, theta: theta, alpha: alpha))
                case .ia3:
                    let ff = feedForwardSet.contains(module)
                    let count = ff ? d_in : d_out
                    let l = (0..<count).map { _ in random ? 1 + 0.1 * generator.nextGaussian() : 1 }
                    modules[key] = .ia3(try IA3Vector(inputs: d_in, outputs: d_out, feedForward: ff, l: l))
                }
            }
        }
        return try AdapterWeights(
            name: name, kind: kind, rank: rank, shapes: shapes, modules: modules,
            loraAlpha: kind.hasLoRAFactors ? loraAlpha : nil, useRSLoRA: useRSLoRA)
    }
}
