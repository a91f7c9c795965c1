// Writing AdapterWeights as a PEFT adapter folder (DESIGN.md section 2): LoRA and IA3 exactly as
// PEFT writes them (so PEFT loads them), fLoRA in the same layout with "peft_type": "FLORA".

import FloraFormats
import FloraTensor
import Foundation

public enum AdapterWriter {
    /// Writes `adapter_config.json` and `adapter_model.safetensors` (fp32) into `folder`,
    /// creating it if needed.
    public static func write(_ weights: AdapterWeights, to folder: String) throws {
        try weights.refuseVocabularyModules(for: "writing")
        try PEFTFolder.write(config: config(for: weights), tensors: tensors(for: weights), to: folder)
    }

    /// The PEFT config describing `weights`: `target_modules` as module names (plus
    /// `layers_to_transform` when only some layers are adapted) or, when the adapted
    /// (layer, module) pairs are not a full grid, a regular expression of their paths;
    /// per-module ranks and alphas that differ from the defaults as `rank_pattern`/`alpha_pattern`.
    public static func config(for weights: AdapterWeights) -> PEFTConfig {
        let keys = weights.moduleKeys
        let layers = Set(keys.map(\.layer)).sorted()
        let modules = weights.targets
        let isGrid = keys.count == layers.count * modules.count
        let targets: PEFTConfig.ModuleSelector = isGrid
            ? .names(modules.map(\.rawValue))
            : .pattern(keys.map { escaped($0.module.modulePath(layer: $0.layer)) }.joined(separator: "|"))
        let layersToTransform = isGrid && layers.count < weights.shapes.layers ? layers : nil

        var rankPattern: [String: Int] = [:]
        var alphaPattern: [String: Double] = [:]
        var feedForward: [AdapterModuleKey] = []
        for key in keys {
            let path = escaped(key.module.modulePath(layer: key.layer))
            switch weights.module(layer: key.layer, key.module)! {
            case .flora(let f):
                if f.rank != weights.rank { rankPattern[path] = f.rank }
            case .lora(let f):
                if f.rank != weights.rank { rankPattern[path] = f.rank }
                if f.alpha != weights.loraAlpha { alphaPattern[path] = Double(f.alpha) }
            case .ia3(let v):
                if v.feedForward { feedForward.append(key) }
            }
        }
        var feedforwardModules: PEFTConfig.ModuleSelector?
        if weights.kind == .ia3 {
            // Module names when a module is feed-forward in every layer it is adapted in, else full paths.
            let ffModules = Set(feedForward.map(\.module))
            let consistent = keys.allSatisfy { ffModules.contains($0.module) == feedForward.contains($0) }
            feedforwardModules = .names(consistent
                ? TargetModule.allCases.filter(ffModules.contains).map(\.rawValue)
                : feedForward.map { $0.module.modulePath(layer: $0.layer) })
        }
        return PEFTConfig(
            peftType: peftType(weights.kind), r: weights.rank, loraAlpha: Double(weights.loraAlpha ?? Float(weights.rank)),
            useRSLoRA: weights.useRSLoRA, targetModules: targets, feedforwardModules: feedforwardModules,
            rankPattern: rankPattern, alphaPattern: alphaPattern, layersToTransform: layersToTransform,
            baseModelNameOrPath: weights.baseModelNameOrPath, taskType: "CAUSAL_LM")
    }

    /// The tensors with PEFT's names and shapes: A `[r, d_in]`, B `[d_out, r]`; IA3 `l` as
    /// `[1, d_in]` (feed-forward) or `[d_out, 1]`.
    public static func tensors(for weights: AdapterWeights) -> [(name: String, tensor: Tensor)] {
        var result: [(name: String, tensor: Tensor)] = []
        for key in weights.moduleKeys {
            func name(_ role: PEFTTensorName.Role) -> String {
                PEFTTensorName(
                    layerStack: key.module.layerStack, layer: key.layer, block: key.module.block, module: key.module.name, role: role).name
            }
            switch weights.module(layer: key.layer, key.module)! {
            case .flora(let f):
                result.append((name(.floraA), f.a))
                result.append((name(.floraB), Tensor(shape: [f.outputs, f.rank], values: f.b())))
            case .lora(let f):
                result.append((name(.loraA), f.a))
                result.append((name(.loraB), Tensor(shape: [f.outputs, f.rank], values: f.b())))
            case .ia3(let v):
                let shape = v.feedForward ? [1, v.inputs] : [v.outputs, 1]
                result.append((name(.ia3), Tensor(shape: shape, storage: v.l.storage)))
            }
        }
        return result
    }

    static func peftType(_ kind: AdapterKind) -> PEFTConfig.PEFTType {
        switch kind {
        case .flora: .flora
        case .lora: .lora
        case .ia3: .ia3
        }
    }

    /// A module path as a regular expression that matches only itself.
    static func escaped(_ path: String) -> String { path.replacingOccurrences(of: ".", with: "\\.") }
}
