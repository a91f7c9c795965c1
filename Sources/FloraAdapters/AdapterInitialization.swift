// Fresh adapters: the training start points of DESIGN.md section 6, or random ones for tests
// and benchmarks. Seeded and deterministic: draws go layer by layer (ascending), modules in
// TargetModule order, A before B.

import FloraTensor

extension AdapterWeights {
    /// A new adapter on `targets` of every layer.
    ///
    /// Start points (`random == false`): fLoRA `A = B = 1` plus `symmetryNoise · N(0, 1)` when
    /// rank > 1 (pass 0 for the exact identity; rank 1 is always exact); LoRA as PEFT, `A`
    /// Kaiming-uniform (`U(±1/√d_in)`), `B = 0`; IA3 ones.
    /// Random (`random == true`): fLoRA `1 + 0.1·N(0, 1)`; LoRA `A` Kaiming-uniform and `B`
    /// `U(±1/√r)` (non-zero, as PEFT's `init_lora_weights=False`); IA3 `1 + 0.1·N(0, 1)`.
    ///
    /// - Parameters:
    ///   - alpha: LoRA's `lora_alpha`; defaults to `rank` (scale 1).
    ///   - feedForward: IA3's `feedforward_modules`; defaults, as PEFT's, to the MLP's output layer among `targets`.
    public static func initialized(
        name: String = "adapter", kind: AdapterKind, rank: Int, targets: [TargetModule], shapes: AdapterTargetShapes,
        seed: UInt64, random: Bool = false, alpha: Float? = nil, useRSLoRA: Bool = false,
        symmetryNoise: Float = 1e-3, feedForward: [TargetModule]? = nil
    ) throws -> AdapterWeights {
        guard rank > 0 else { throw AdapterError.invalidArgument(what: "rank", expected: "at least 1", found: "\(rank)") }
        guard !targets.isEmpty else { throw AdapterError.invalidArgument(what: "targets", expected: "at least one module", found: "none") }
        for module in targets where !shapes.has(module) {
            throw AdapterError.shapeMismatch(adapter: name, expected: "a module the model has (\(shapes))", found: module.rawValue)
        }
        let targetSet = Set(targets)
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
                case .lora:
                    let boundA = 1 / Float(d_in).squareRoot()
                    let a = (0..<rank * d_in).map { _ in generator.nextUniform(-boundA, boundA) }
                    let boundB = 1 / Float(rank).squareRoot()
                    let b = random ? (0..<d_out * rank).map { _ in generator.nextUniform(-boundB, boundB) }
                                   : [Float](repeating: 0, count: d_out * rank)
                    modules[key] = .lora(try LoRAFactors(
                        rank: rank, inputs: d_in, outputs: d_out, a: a, b: b, alpha: loraAlpha, useRSLoRA: useRSLoRA))
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
            loraAlpha: kind == .lora ? loraAlpha : nil, useRSLoRA: useRSLoRA)
    }
}
