// The linear layers an adapter may change, and their dimensions in the base model (DESIGN.md section 1).

/// One of the seven linear layers of a Llama-family transformer block that PEFT adapters target.
/// The raw value is the module's name in Hugging Face checkpoints and PEFT configs.
public enum TargetModule: String, CaseIterable, Sendable, Codable {
    case qProj = "q_proj"
    case kProj = "k_proj"
    case vProj = "v_proj"
    case oProj = "o_proj"
    case gateProj = "gate_proj"
    case upProj = "up_proj"
    case downProj = "down_proj"

    /// Dense index 0..<7, used to lay per-(layer, module) tables out as `[layers * 7]`.
    public var index: Int {
        switch self {
        case .qProj: 0
        case .kProj: 1
        case .vProj: 2
        case .oProj: 3
        case .gateProj: 4
        case .upProj: 5
        case .downProj: 6
        }
    }

    /// The sub-module of a decoder layer that holds this linear layer in Hugging Face's Llama.
    public var block: String {
        switch self {
        case .qProj, .kProj, .vProj, .oProj: "self_attn"
        case .gateProj, .upProj, .downProj: "mlp"
        }
    }

    /// The module's path in a Hugging Face Llama model, as PEFT matches `target_modules` against it.
    public func modulePath(layer: Int) -> String { "model.layers.\(layer).\(block).\(rawValue)" }
}

/// The kinds of adapter Flora serves side by side in one batch.
public enum AdapterKind: String, Sendable, CaseIterable, Codable {
    case flora
    case lora
    case ia3
}

/// The dimensions of every linear layer an adapter may target: the model builds this from its
/// configuration and every adapter is checked against it when it is loaded or installed.
/// A module with zero inputs is one the model does not have; adapters naming it are refused.
public struct AdapterTargetShapes: Sendable, Equatable, CustomStringConvertible {
    /// Number of transformer layers.
    public let layers: Int
    private let inputCounts: [Int]   // [7], by TargetModule.index
    private let outputCounts: [Int]  // [7]

    /// - Parameters: `inputs`/`outputs` give `d_in`/`d_out` of each module the model has.
    public init(layers: Int, inputs: [TargetModule: Int], outputs: [TargetModule: Int]) throws {
        guard layers > 0 else {
            throw AdapterError.invalidArgument(what: "layer count", expected: "at least 1", found: "\(layers)")
        }
        var ins = [Int](repeating: 0, count: TargetModule.allCases.count)
        var outs = ins
        for module in TargetModule.allCases {
            let i = inputs[module] ?? 0, o = outputs[module] ?? 0
            guard i >= 0, o >= 0, (i == 0) == (o == 0) else {
                throw AdapterError.invalidArgument(
                    what: "dimensions of \(module.rawValue)", expected: "both positive (or both absent)",
                    found: "inputs \(i), outputs \(o)")
            }
            ins[module.index] = i
            outs[module.index] = o
        }
        guard ins.contains(where: { $0 > 0 }) else {
            throw AdapterError.invalidArgument(what: "module dimensions", expected: "at least one module", found: "none")
        }
        self.layers = layers
        inputCounts = ins
        outputCounts = outs
    }

    /// The shapes of a Llama-family model: q `[hidden → heads·headDim]`, k and v
    /// `[hidden → kvHeads·headDim]`, o `[heads·headDim → hidden]`, gate and up
    /// `[hidden → intermediate]`, down `[intermediate → hidden]`.
    public static func llama(
        layers: Int, hiddenSize: Int, attentionHeads: Int, keyValueHeads: Int, headDimension: Int, intermediateSize: Int
    ) throws -> AdapterTargetShapes {
        let named = [("hidden size", hiddenSize), ("attention heads", attentionHeads), ("key-value heads", keyValueHeads),
                     ("head dimension", headDimension), ("intermediate size", intermediateSize)]
        for (what, value) in named where value <= 0 {
            throw AdapterError.invalidArgument(what: what, expected: "a positive number", found: "\(value)")
        }
        let q = attentionHeads * headDimension, kv = keyValueHeads * headDimension
        return try AdapterTargetShapes(
            layers: layers,
            inputs: [.qProj: hiddenSize, .kProj: hiddenSize, .vProj: hiddenSize, .oProj: q,
                     .gateProj: hiddenSize, .upProj: hiddenSize, .downProj: intermediateSize],
            outputs: [.qProj: q, .kProj: kv, .vProj: kv, .oProj: hiddenSize,
                      .gateProj: intermediateSize, .upProj: intermediateSize, .downProj: hiddenSize])
    }

    /// `d_in` of the module (0 when the model lacks it).
    @inline(__always) public func inputs(_ module: TargetModule) -> Int { inputCounts[module.index] }
    /// `d_out` of the module (0 when the model lacks it).
    @inline(__always) public func outputs(_ module: TargetModule) -> Int { outputCounts[module.index] }
    /// Whether the model has this module.
    public func has(_ module: TargetModule) -> Bool { inputCounts[module.index] > 0 }

    public var description: String {
        let modules = TargetModule.allCases.filter(has).map { "\($0.rawValue) [\(outputs($0)), \(inputs($0))]" }
        return "\(layers) layers; " + modules.joined(separator: ", ")
    }
}
