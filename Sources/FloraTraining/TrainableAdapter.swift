// An adapter being trained: its parameters and their gradients in two flat fp32 buffers (so that
// the optimiser, clipping and checkpoints see one vector), with a table of where each
// (layer, module)'s tensors lie. The serving kernels read immutable `AdapterWeights`; `weights()`
// takes a snapshot in that form.

import FloraAdapters
import FloraTensor

/// Where one (layer, module)'s tensors lie in its adapter's flat parameter vector.
public struct TrainableModule: Sendable, Equatable {
    public let key: AdapterModuleKey
    public let kind: AdapterKind
    /// fLoRA and LoRA rank; 1 for IA3.
    public let rank: Int
    public let inputs: Int
    public let outputs: Int
    /// IA3: whether the input (not the output) is scaled.
    public let feedForward: Bool
    /// LoRA's `lora_alpha` (nil otherwise).
    public let alpha: Float?
    /// fLoRA `1/r`; LoRA `alpha/r` (rsLoRA `alpha/√r`); IA3 1.
    public let scale: Float
    /// fLoRA and LoRA: A `[rank, inputs]`; IA3: `l` (`[inputs]` feed-forward, else `[outputs]`).
    public let first: Range<Int>
    /// fLoRA and LoRA: Bᵀ `[rank, outputs]` (row j is `B[:, j]`); IA3: empty.
    public let second: Range<Int>
}

/// The trainable parameters of one fLoRA, LoRA or IA3 adapter, with gradient storage.
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
    private let table: [Int]  // [layers * 7]: index into `modules`, -1 where untouched

    public var parameterCount: Int { parameters.count }

    /// The kinds the gradient engine can train.
    public static let trainableKinds: [AdapterKind] = [.flora, .lora, .ia3]

    /// A trainable copy of `weights` (e.g. from `AdapterWeights.initialized` or a PEFT folder).
    /// Throws for kinds the gradient engine does not train (`trainableKinds`).
    public init(_ weights: AdapterWeights) throws {
        guard Self.trainableKinds.contains(weights.kind) else {
            throw TrainingError.invalidArgument(
                "adapter '\(weights.name)' is a \(weights.kind.rawValue) adapter; training is implemented for "
                + Self.trainableKinds.map(\.rawValue).joined(separator: ", "))
        }
        var modules: [TrainableModule] = []
        var values: [Float] = []
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
            case .dora, .road:
                continue  // refused above
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
            case .dora, .road:
                throw TrainingError.invalidArgument("\(m.kind.rawValue) modules are not trainable")
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
