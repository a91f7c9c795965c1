// The linear layers an adapter may change, and their dimensions in the base model (DESIGN.md section 1).

import Foundation

/// A linear layer of a transformer block that PEFT adapters target: the seven of the Llama
/// family, or the four of GPTBigCode (StarCoder). The raw value names it uniquely as a PEFT
/// `target_modules` entry would (GPTBigCode has a `c_proj` in each block, so those two carry
/// their block).
public enum TargetModule: String, CaseIterable, Sendable, Codable {
    case qProj = "q_proj"
    case kProj = "k_proj"
    case vProj = "v_proj"
    case oProj = "o_proj"
    case gateProj = "gate_proj"
    case upProj = "up_proj"
    case downProj = "down_proj"
    /// GPTBigCode's fused query/key/value projection.
    case cAttn = "c_attn"
    case attnCProj = "attn.c_proj"
    case cFc = "c_fc"
    case mlpCProj = "mlp.c_proj"

    /// The seven linear layers of a Llama-family block.
    public static let llama: [TargetModule] = [.qProj, .kProj, .vProj, .oProj, .gateProj, .upProj, .downProj]
    /// The four of a GPTBigCode block.
    public static let gptBigCode: [TargetModule] = [.cAttn, .attnCProj, .cFc, .mlpCProj]

    /// The number of modules: per-(layer, module) tables are `[layers * count]`. Stored once, as
    /// `allCases` builds an array on every use and bank lookups run per layer and module each step.
    public static let count = allCases.count

    /// Dense index 0..<count, used to lay per-(layer, module) tables out as `[layers * count]`.
    public var index: Int {
        switch self {
        case .qProj: 0
        case .kProj: 1
        case .vProj: 2
        case .oProj: 3
        case .gateProj: 4
        case .upProj: 5
        case .downProj: 6
        case .cAttn: 7
        case .attnCProj: 8
        case .cFc: 9
        case .mlpCProj: 10
        }
    }

    /// The module's own name inside its block, as checkpoints spell it (`c_proj` for both of GPTBigCode's).
    public var name: String {
        switch self {
        case .attnCProj, .mlpCProj: "c_proj"
        default: rawValue
        }
    }

    /// The sub-module of a decoder layer that holds this linear layer in Hugging Face's model.
    public var block: String {
        switch self {
        case .qProj, .kProj, .vProj, .oProj: "self_attn"
        case .gateProj, .upProj, .downProj, .cFc, .mlpCProj: "mlp"
        case .cAttn, .attnCProj: "attn"
        }
    }

    /// The path of the list of decoder layers in the Hugging Face model: `model.layers` (Llama)
    /// or `transformer.h` (GPTBigCode).
    public var layerStack: String {
        switch self {
        case .qProj, .kProj, .vProj, .oProj, .gateProj, .upProj, .downProj: "model.layers"
        case .cAttn, .attnCProj, .cFc, .mlpCProj: "transformer.h"
        }
    }

    /// Whether the layer reads the MLP's inner activation: PEFT's default IA3 `feedforward_modules`
    /// (the layers whose input, not output, IA3 scales).
    public var readsMLPActivation: Bool { self == .downProj || self == .mlpCProj }

    /// The module found at `<layerStack>.<i>.<block>.<name>`, if any.
    public init?(layerStack: String, block: String, name: String) {
        guard let module = Self.allCases.first(where: { $0.name == name && $0.block == block && $0.layerStack == layerStack }) else {
            return nil
        }
        self = module
    }

    /// "q_proj,k_proj" → modules (raw values, as `--targets` options take them), or an error naming the unknown one.
    public static func parseList(_ text: String) throws -> [TargetModule] {
        let names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let known = allCases.map(\.rawValue).joined(separator: ", ")
        guard !names.isEmpty else { throw AdapterError.invalidArgument(what: "target modules", expected: "some of \(known)", found: "none") }
        return try names.map { name in
            guard let module = TargetModule(rawValue: name) else {
                throw AdapterError.invalidArgument(what: "target module", expected: "one of \(known)", found: "'\(name)'")
            }
            return module
        }
    }

    /// The module's path in a Hugging Face model, as PEFT matches `target_modules` against it.
    public func modulePath(layer: Int) -> String { "\(layerStack).\(layer).\(block).\(name)" }
}

/// The kinds of adapter Flora serves side by side in one batch.
public enum AdapterKind: String, Sendable, CaseIterable, Codable {
    case flora
    case lora
    case ia3
    /// LoRA with DoRA's magnitude vector (PEFT `use_dora`).
    case dora
    /// PEFT's RoAd: output pairs rotated and scaled.
    case road

    /// Whether the kind's module weights are LoRA factors (`lora_A`, `lora_B`), as LoRA and DoRA have.
    public var hasLoRAFactors: Bool { self == .lora || self == .dora }
}

/// The dimensions of every linear layer an adapter may target: the model builds this from its
/// configuration and every adapter is checked against it when it is loaded or installed.
/// A module with zero inputs is one the model does not have; adapters naming it are refused.
public struct AdapterTargetShapes: Sendable, Equatable, CustomStringConvertible {
    /// Number of transformer layers.
    public let layers: Int
    /// Rows of the token embedding and outputs of the LM head; 0 when unknown (adapters on
    /// either are then refused).
    public let vocabularySize: Int
    /// Width of the residual stream, `d_model`: the embedding's columns and the head's inputs.
    public let hiddenSize: Int
    private let inputCounts: [Int]   // [11], by TargetModule.index
    private let outputCounts: [Int]  // [11]

    /// - Parameters: `inputs`/`outputs` give `d_in`/`d_out` of each module the model has.
    public init(
        layers: Int, inputs: [TargetModule: Int], outputs: [TargetModule: Int], vocabularySize: Int = 0, hiddenSize: Int = 0
    ) throws {
        guard layers > 0 else {
            throw AdapterError.invalidArgument(what: "layer count", expected: "at least 1", found: "\(layers)")
        }
        guard vocabularySize >= 0, hiddenSize >= 0, (vocabularySize == 0) == (hiddenSize == 0) else {
            throw AdapterError.invalidArgument(
                what: "vocabulary dimensions", expected: "both positive (or both absent)",
                found: "vocabulary \(vocabularySize), hidden size \(hiddenSize)")
        }
        var ins = [Int](repeating: 0, count: TargetModule.count)
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
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        inputCounts = ins
        outputCounts = outs
    }

    /// The shapes of a Llama-family model: q `[hidden → heads·headDim]`, k and v
    /// `[hidden → kvHeads·headDim]`, o `[heads·headDim → hidden]`, gate and up
    /// `[hidden → intermediate]`, down `[intermediate → hidden]`.
    public static func llama(
        layers: Int, hiddenSize: Int, attentionHeads: Int, keyValueHeads: Int, headDimension: Int, intermediateSize: Int,
        vocabularySize: Int = 0
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
                      .gateProj: intermediateSize, .upProj: intermediateSize, .downProj: hiddenSize],
            vocabularySize: vocabularySize, hiddenSize: vocabularySize > 0 ? hiddenSize : 0)
    }

    /// The shapes of a GPTBigCode model: c_attn `[hidden → hidden + 2·kvHeads·headDim]` (query,
    /// key and value fused), attn.c_proj `[hidden → hidden]`, c_fc `[hidden → inner]`,
    /// mlp.c_proj `[inner → hidden]`.
    public static func gptBigCode(
        layers: Int, hiddenSize: Int, keyValueDimension: Int, innerSize: Int, vocabularySize: Int = 0
    ) throws -> AdapterTargetShapes {
        for (what, value) in [("hidden size", hiddenSize), ("key-value width", keyValueDimension), ("inner size", innerSize)] where value <= 0 {
            throw AdapterError.invalidArgument(what: what, expected: "a positive number", found: "\(value)")
        }
        return try AdapterTargetShapes(
            layers: layers,
            inputs: [.cAttn: hiddenSize, .attnCProj: hiddenSize, .cFc: hiddenSize, .mlpCProj: innerSize],
            outputs: [.cAttn: hiddenSize + 2 * keyValueDimension, .attnCProj: hiddenSize, .cFc: innerSize, .mlpCProj: hiddenSize],
            vocabularySize: vocabularySize, hiddenSize: vocabularySize > 0 ? hiddenSize : 0)
    }

    /// What adapters target when nothing is named: the attention's query and key projections, as
    /// the fLoRA paper adapts them (Llama's `q_proj, k_proj`; GPTBigCode's fused `c_attn`), and for
    /// IA3 PEFT's defaults (`k_proj, v_proj, down_proj`; `c_attn, mlp.c_proj`).
    public func defaultTargets(for kind: AdapterKind) -> [TargetModule] {
        let llama = has(.qProj)
        switch kind {
        case .flora, .lora, .dora, .road: return llama ? [.qProj, .kProj] : [.cAttn]
        case .ia3: return llama ? [.kProj, .vProj, .downProj] : [.cAttn, .mlpCProj]
        }
    }

    /// `d_in` of the module (0 when the model lacks it).
    @inline(__always) public func inputs(_ module: TargetModule) -> Int { inputCounts[module.index] }
    /// `d_out` of the module (0 when the model lacks it).
    @inline(__always) public func outputs(_ module: TargetModule) -> Int { outputCounts[module.index] }
    /// Whether the model has this module.
    public func has(_ module: TargetModule) -> Bool { inputCounts[module.index] > 0 }

    public var description: String {
        let modules = TargetModule.allCases.filter(has).map { "\($0.rawValue) [\(outputs($0)), \(inputs($0))]" }
        let vocabulary = vocabularySize > 0 ? "; vocabulary \(vocabularySize) × \(hiddenSize)" : ""
        return "\(layers) layers; " + modules.joined(separator: ", ") + vocabulary
    }
}
