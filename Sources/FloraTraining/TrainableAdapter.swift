// An adapter being trained: its parameters and their gradients in two flat fp32 buffers (so that
// the optimiser, clipping and checkpoints see one vector), with a table of where each
// (layer, module)'s tensors lie. The serving kernels read immutable `AdapterWeights`; `weights()`
// takes a snapshot in that form.
//
// DoRA's norm n = ‖W + s·B A‖ (per output row) is, as in PEFT (peft/tuners/lora/dora.py, where
// it is detached), a constant of the gradient: the adapter keeps it, computed from the current A
// and B, and `refreshNorms()` recomputes it after the parameters change (once per optimiser step).

import FloraAdapters
import FloraFormats
import FloraTensor

/// Where one (layer, module)'s tensors lie in its adapter's flat parameter vector.
public struct TrainableModule: Sendable, Equatable {
    public let key: AdapterModuleKey
    public let kind: AdapterKind
    /// fLoRA, LoRA and DoRA rank; 1 for IA3 and RoAd.
    public let rank: Int
    public let inputs: Int
    public let outputs: Int
    /// IA3: whether the input (not the output) is scaled.
    public let feedForward: Bool
    /// LoRA's and DoRA's `lora_alpha` (nil otherwise).
    public let alpha: Float?
    /// fLoRA `1/r`; LoRA and DoRA `alpha/r` (rsLoRA `alpha/√r`); IA3 and RoAd 1.
    public let scale: Float
    /// fLoRA, LoRA and DoRA: A `[rank, inputs]`; IA3: `l` (`[inputs]` feed-forward, else `[outputs]`);
    /// RoAd: θ (`[RoadRotation.valueCount]`).
    public let first: Range<Int>
    /// fLoRA, LoRA and DoRA: Bᵀ `[rank, outputs]` (row j is `B[:, j]`); RoAd: α; IA3: empty.
    public let second: Range<Int>
    /// DoRA: the magnitude m `[outputs]`; empty otherwise.
    public var magnitude: Range<Int> = 0..<0
    /// DoRA: where the module's norms n `[outputs]` lie in the adapter's `norms`; empty otherwise.
    public var norms: Range<Int> = 0..<0
    /// RoAd's variant and group size (nil and 0 otherwise).
    public var roadVariant: PEFTConfig.RoadVariant?
    public var groupSize = 0

    /// Every non-empty parameter tensor of the module: (first, second, magnitude).
    public var parameterRanges: [Range<Int>] { [first, second, magnitude].filter { !$0.isEmpty } }
}

/// The trainable parameters of one fLoRA, LoRA, IA3, DoRA or RoAd adapter, with gradient storage.
public final class TrainableAdapter {
    public let name: String
    public let kind: AdapterKind
    public let rank: Int
    public let loraAlpha: Float?
    public let useRSLoRA: Bool
    public let shapes: AdapterTargetShapes
    /// `base_model_name_or_path` written into the PEFT config.
    public var baseModelNameOrPath: String?
    /// Modules in (layer, TargetModule) order.
    public let modules: [TrainableModule]
    /// All parameters, `[parameterCount]`, module by module.
    public let parameters: FloatBuffer
    /// Gradients of the training objective, same layout; accumulated by `GradientEngine`.
    public let gradients: FloatBuffer
    /// DoRA: every module's row norms `‖W + s·B A‖` at the parameters of the last `refreshNorms()`,
    /// `[Σ outputs]`, in double as `DoRAFactors.rowNorms` gives them; empty for other kinds.
    public private(set) var norms: [Double] = []
    /// The frozen model's weights, which DoRA's norms are computed from (nil for other kinds).
    let baseWeights: (any AdapterBaseWeights)?
    private let table: [Int]  // [layers * 7]: index into `modules`, -1 where untouched

    public var parameterCount: Int { parameters.count }

    /// The kinds the gradient engine can train.
    public static let trainableKinds: [AdapterKind] = [.flora, .lora, .ia3, .dora, .road]

    /// A trainable copy of `weights` (e.g. from `AdapterWeights.initialized` or a PEFT folder).
    /// `baseWeights` (the model being trained on) is required for DoRA, whose norms need `W`.
    /// Throws for kinds the gradient engine does not train (`trainableKinds`).
    public init(_ weights: AdapterWeights, baseWeights: (any AdapterBaseWeights)? = nil) throws {
        guard Self.trainableKinds.contains(weights.kind) else {
            throw TrainingError.invalidArgument(
                "adapter '\(weights.name)' is a \(weights.kind.rawValue) adapter; training is implemented for "
                + Self.trainableKinds.map(\.rawValue).joined(separator: ", "))
        }
        if weights.kind == .dora, baseWeights == nil {
            throw TrainingError.invalidArgument(
                "adapter '\(weights.name)' is a DoRA adapter: its norm ‖W + s·B A‖ needs the base model's weights, and none were given")
        }
        var modules: [TrainableModule] = []
        var values: [Float] = []
        var normCount = 0
        for key in weights.moduleKeys {
            let start = values.count
            switch weights.module(layer: key.layer, key.module)! {
            case .flora(let f):
                values += f.a.toArray()
                values += f.bTransposed.toArray()
                let split = start + f.rank * f.inputs
                modules.append(TrainableModule(
                    key: key, kind: .flora, rank: f.rank, inputs: f.inputs, outputs: f.outputs, feedForward: false, alpha: nil,
                    scale: 1 / Float(f.rank), first: start..<split, second: split..<values.count))
            case .lora(let f):
                values += f.a.toArray()
                values += f.bTransposed.toArray()
                let split = start + f.rank * f.inputs
                modules.append(TrainableModule(
                    key: key, kind: .lora, rank: f.rank, inputs: f.inputs, outputs: f.outputs, feedForward: false, alpha: f.alpha,
                    scale: f.scale, first: start..<split, second: split..<values.count))
            case .ia3(let v):
                values += v.l.toArray()
                modules.append(TrainableModule(
                    key: key, kind: .ia3, rank: 1, inputs: v.inputs, outputs: v.outputs, feedForward: v.feedForward, alpha: nil,
                    scale: 1, first: start..<values.count, second: values.count..<values.count))
            case .dora(let d):
                let f = d.lora
                values += f.a.toArray()
                values += f.bTransposed.toArray()
                let split = start + f.rank * f.inputs, end = values.count
                values += d.magnitude.toArray()
                var module = TrainableModule(
                    key: key, kind: .dora, rank: f.rank, inputs: f.inputs, outputs: f.outputs, feedForward: false, alpha: f.alpha,
                    scale: f.scale, first: start..<split, second: split..<end)
                module.magnitude = end..<values.count
                module.norms = normCount..<normCount + f.outputs
                normCount += f.outputs
                modules.append(module)
            case .road(let r):
                values += r.theta.toArray()
                let split = values.count
                values += r.alpha.toArray()
                var module = TrainableModule(
                    key: key, kind: .road, rank: 1, inputs: r.inputs, outputs: r.outputs, feedForward: false, alpha: nil,
                    scale: 1, first: start..<split, second: split..<values.count)
                module.roadVariant = r.variant
                module.groupSize = r.groupSize
                modules.append(module)
            }
        }
        var table = [Int](repeating: -1, count: weights.shapes.layers * TargetModule.count)
        for (i, m) in modules.enumerated() { table[m.key.layer * TargetModule.count + m.key.module.index] = i }
        name = weights.name
        kind = weights.kind
        rank = weights.rank
        loraAlpha = weights.loraAlpha
        useRSLoRA = weights.useRSLoRA
        shapes = weights.shapes
        baseModelNameOrPath = weights.baseModelNameOrPath
        self.modules = modules
        self.table = table
        parameters = FloatBuffer(values)
        gradients = FloatBuffer(count: values.count)
        self.baseWeights = weights.kind == .dora ? baseWeights : nil
        norms = [Double](repeating: 0, count: normCount)
        try refreshNorms()
    }

    /// Recomputes DoRA's norms `‖W + s·B A‖` from the current A and B; call it after the
    /// parameters change (an optimiser step). Between two calls the norms stay fixed, as PEFT's
    /// detached norm is a constant of the gradient. Nothing to do for other kinds.
    public func refreshNorms() throws {
        guard !norms.isEmpty, let baseWeights else { return }
        let p = parameters.pointer
        for m in modules where m.kind == .dora {
            guard let w = baseWeights.adapterBaseWeight(layer: m.key.layer, module: m.key.module), w.shape == [m.outputs, m.inputs] else {
                throw TrainingError.invalidArgument(
                    "DoRA adapter '\(name)': the base model has no [\(m.outputs), \(m.inputs)] weight for layer \(m.key.layer) \(m.key.module.rawValue)")
            }
            let rows = DoRAFactors.rowNorms(
                a: p + m.first.lowerBound, bTransposed: p + m.second.lowerBound, scale: m.scale, rank: m.rank, inputs: m.inputs,
                outputs: m.outputs, baseWeight: w.pointer)
            if let bad = rows.firstIndex(where: { !($0 > 0 && $0.isFinite) }) {
                throw TrainingError.invalidArgument(
                    "DoRA adapter '\(name)', layer \(m.key.layer) \(m.key.module.rawValue): the norm of output row \(bad) is \(rows[bad]), expected a positive finite ‖W + s·B A‖")
            }
            norms.replaceSubrange(m.norms, with: rows)
        }
    }

    /// The module at (layer, module), nil where the adapter leaves the layer unchanged.
    @inline(__always)
    public func module(layer: Int, _ module: TargetModule) -> TrainableModule? {
        let i = table[layer * TargetModule.count + module.index]
        return i < 0 ? nil : modules[i]
    }

    /// Modules targeted in at least one layer, in `TargetModule` order.
    public var targets: [TargetModule] {
        TargetModule.allCases.filter { m in modules.contains { $0.key.module == m } }
    }

    public func zeroGradients() { gradients.pointer.update(repeating: 0, count: gradients.count) }

    /// The current parameters as immutable `AdapterWeights` (what the serving kernels and the PEFT writer read).
    public func weights() throws -> AdapterWeights {
        let p = parameters.pointer
        func values(_ range: Range<Int>) -> [Float] { Array(UnsafeBufferPointer(start: p + range.lowerBound, count: range.count)) }
        var result: [AdapterModuleKey: AdapterModuleWeights] = [:]
        for m in modules {
            switch m.kind {
            case .flora:
                result[m.key] = .flora(try FloraFactors(
                    rank: m.rank, inputs: m.inputs, outputs: m.outputs, a: values(m.first),
                    b: transposed(values(m.second), rows: m.rank, columns: m.outputs)))
            case .lora:
                result[m.key] = .lora(try LoRAFactors(
                    rank: m.rank, inputs: m.inputs, outputs: m.outputs, a: values(m.first),
                    b: transposed(values(m.second), rows: m.rank, columns: m.outputs), alpha: m.alpha ?? Float(m.rank),
                    useRSLoRA: useRSLoRA))
            case .ia3:
                result[m.key] = .ia3(try IA3Vector(inputs: m.inputs, outputs: m.outputs, feedForward: m.feedForward, l: values(m.first)))
            case .dora:
                let lora = try LoRAFactors(
                    rank: m.rank, inputs: m.inputs, outputs: m.outputs, a: values(m.first),
                    b: transposed(values(m.second), rows: m.rank, columns: m.outputs), alpha: m.alpha ?? Float(m.rank),
                    useRSLoRA: useRSLoRA)
                result[m.key] = .dora(try DoRAFactors(lora: lora, magnitude: values(m.magnitude), norms: Array(norms[m.norms])))
            case .road:
                result[m.key] = .road(try RoadRotation(
                    variant: m.roadVariant ?? .road1, groupSize: m.groupSize, inputs: m.inputs, outputs: m.outputs, theta: values(m.first),
                    alpha: values(m.second)))
            }
        }
        return try AdapterWeights(
            name: name, kind: kind, rank: rank, shapes: shapes, modules: result, loraAlpha: loraAlpha, useRSLoRA: useRSLoRA,
            baseModelNameOrPath: baseModelNameOrPath)
    }
}

/// Row-major `[rows, columns]` → `[columns, rows]`.
func transposed(_ values: [Float], rows: Int, columns: Int) -> [Float] {
    var result = [Float](repeating: 0, count: values.count)
    for r in 0..<rows {
        for c in 0..<columns { result[c * rows + r] = values[r * columns + c] }
    }
    return result
}
