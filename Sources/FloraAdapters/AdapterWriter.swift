// Writing AdapterWeights as a PEFT adapter folder (DESIGN.md section 2): LoRA, IA3, DoRA (a LoRA
// config with "use_dora": true and `lora_magnitude_vector` tensors) and RoAd ("peft_type": "ROAD",
// `road_theta`/`road_alpha`) exactly as PEFT writes them (so PEFT loads them), fLoRA in the same
// layout with "peft_type": "FLORA". A RoAd config holds one variant and group size: an adapter
// whose modules differ is refused.

import FloraFormats
import FloraTensor
import Foundation

public enum AdapterWriter {
    /// Writes `adapter_config.json` and `adapter_model.safetensors` (fp32) into `folder`,
    /// creating it if needed.
    public static func write(_ weights: AdapterWeights, to folder: String) throws {
        try weights.refuseVocabularyModules(for: "writing")
        if weights.kind == .road {
            var seen: (PEFTConfig.RoadVariant, Int)?
            for key in weights.moduleKeys {
                guard case .road(let r) = weights.module(layer: key.layer, key.module) else { continue }
                if let first = seen, first.0 != r.variant || first.1 != r.groupSize {
                    throw AdapterError.invalidArgument(
                        what: "RoAd adapter '\(weights.name)' to write", expected: "one variant and group size for every module (\(first.0.rawValue), \(first.1))",
                        found: "\(r.variant.rawValue), \(r.groupSize) at layer \(key.layer) \(key.module.rawValue)")
                }
                seen = (r.variant, r.groupSize)
            }
        }
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
        var road: RoadRotation?
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
            case .dora(let d):
                if d.lora.rank != weights.rank { rankPattern[path] = d.lora.rank }
                if d.lora.alpha != weights.loraAlpha { alphaPattern[path] = Double(d.lora.alpha) }
            case .road(let r):
                road = road ?? r
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
            baseModelNameOrPath: weights.baseModelNameOrPath, taskType: "CAUSAL_LM", useDoRA: weights.kind == .dora,
            roadVariant: road?.variant ?? .road1, groupSize: road?.groupSize ?? 64)
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
            case .dora(let d):
                result.append((name(.loraA), d.lora.a))
                result.append((name(.loraB), Tensor(shape: [d.lora.outputs, d.lora.rank], values: d.lora.b())))
                result.append((name(.loraMagnitude), d.magnitude))
            case .road(let r):
                result.append((name(.roadTheta), r.theta))
                result.append((name(.roadAlpha), r.alpha))
            }
        }
        return result
    }

    static func peftType(_ kind: AdapterKind) -> PEFTConfig.PEFTType {
        switch kind {
        case .flora: .flora
        case .lora: .lora
        case .ia3: .ia3
        case .dora: .lora
        case .road: .road
        }
    }

    /// A module path as a regular expression that matches only itself.
    static func escaped(_ path: String) -> String { path.replacingOccurrences(of: ".", with: "\\.") }
}
