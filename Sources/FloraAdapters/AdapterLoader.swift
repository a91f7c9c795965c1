// Loading a PEFT adapter folder (DESIGN.md section 2) into AdapterWeights, checked against the base
// model: config valid, every module it names present in the model, every tensor present, of a
// float dtype, with the shape the model and rank demand, finite, and no tensor left unexplained.
// Errors are FloraFormats' FormatError naming the file, the tensor or key, expected and found.

import FloraFormats
import FloraTensor
import Foundation

public enum AdapterLoader {
    /// Loads the adapter in `folder` for a model of `shapes`, naming it `name`. Nothing is kept
    /// if anything is refused.
    public static func load(folder: String, name: String, shapes: AdapterTargetShapes) throws -> AdapterWeights {
        let peft = try PEFTFolder(path: folder)
        let config = peft.config
        let matcher = try PEFTModuleMatcher(config, file: peft.configPath)
        let kind = adapterKind(config.peftType)
        let plan = try expectedModules(matcher, shapes: shapes, configPath: peft.configPath)
        let found = try tensorsByModule(peft.weights, kind: kind, plan: plan, shapes: shapes)

        var modules: [AdapterModuleKey: AdapterModuleWeights] = [:]
        for (key, expectation) in plan.sorted(by: { $0.key < $1.key }) {
            let (d_in, d_out) = (shapes.inputs(key.module), shapes.outputs(key.module))
            let why = "\(key.module.rawValue) has \(d_in) inputs and \(d_out) outputs"
                + (kind == .ia3 ? "" : ", rank \(expectation.rank) from the config")
            func read(_ role: PEFTTensorName.Role, shape: [Int]) throws -> [Float] {
                let canonical = PEFTTensorName(layer: key.layer, block: key.module.block, module: key.module.rawValue, role: role)
                guard let stored = found[key]?[role] else {
                    throw FormatError(.missing, file: peft.weightsPath, item: canonical.name,
                                      expected: "a tensor of shape \(shape) (\(key.module.rawValue) of layer \(key.layer) is targeted)",
                                      found: "no such tensor")
                }
                return try values(of: stored, in: peft.weights, shape: shape, why: why)
            }
            let r = expectation.rank
            switch kind {
            case .flora:
                let a = try read(.floraA, shape: [r, d_in]), b = try read(.floraB, shape: [d_out, r])
                modules[key] = .flora(try FloraFactors(rank: r, inputs: d_in, outputs: d_out, a: a, b: b))
            case .lora:
                let a = try read(.loraA, shape: [r, d_in]), b = try read(.loraB, shape: [d_out, r])
                modules[key] = .lora(try LoRAFactors(
                    rank: r, inputs: d_in, outputs: d_out, a: a, b: b, alpha: Float(expectation.alpha), useRSLoRA: config.useRSLoRA))
            case .ia3:
                let l = try read(.ia3, shape: expectation.feedForward ? [1, d_in] : [d_out, 1])
                modules[key] = .ia3(try IA3Vector(inputs: d_in, outputs: d_out, feedForward: expectation.feedForward, l: l))
            }
        }
        return try AdapterWeights(
            name: name, kind: kind, rank: config.r, shapes: shapes, modules: modules,
            loraAlpha: kind == .lora ? Float(config.loraAlpha) : nil, useRSLoRA: config.useRSLoRA,
            baseModelNameOrPath: config.baseModelNameOrPath)
    }

    static func adapterKind(_ type: PEFTConfig.PEFTType) -> AdapterKind {
        switch type {
        case .lora: .lora
        case .ia3: .ia3
        case .flora: .flora
        }
    }

    /// What one targeted module must hold.
    struct Expectation {
        var rank: Int
        var alpha: Double
        var feedForward: Bool
    }

    /// The (layer, module) pairs the config targets in this model, with their rank, alpha and
    /// IA3 role. Refuses list entries that name no module of the model, and configs that target nothing.
    static func expectedModules(
        _ matcher: PEFTModuleMatcher, shapes: AdapterTargetShapes, configPath: String
    ) throws -> [AdapterModuleKey: Expectation] {
        let config = matcher.config
        let modules = TargetModule.allCases.filter(shapes.has)
        let known = modules.map(\.rawValue).joined(separator: ", ")
        func checkNames(_ selector: PEFTConfig.ModuleSelector?, key: String) throws {
            guard case .names(let names) = selector else { return }
            for entry in names {
                let exists = modules.contains { module in
                    (0..<shapes.layers).contains { PEFTModuleMatcher.listEntry(entry, selects: module.modulePath(layer: $0)) }
                }
                guard exists else {
                    throw FormatError(.invalidValue, file: configPath, item: key,
                                      expected: "names of modules the model has (\(known))", found: "'\(entry)'")
                }
            }
        }
        try checkNames(config.targetModules, key: "target_modules")
        try checkNames(config.feedforwardModules, key: "feedforward_modules")
        if let layers = config.layersToTransform, let bad = layers.first(where: { $0 >= shapes.layers }) {
            throw FormatError(.invalidValue, file: configPath, item: "layers_to_transform",
                              expected: "layer indices below the model's \(shapes.layers) layers", found: "\(bad)")
        }
        var plan: [AdapterModuleKey: Expectation] = [:]
        for layer in 0..<shapes.layers {
            for module in modules {
                let path = module.modulePath(layer: layer)
                guard matcher.targets(path, layer: layer) else { continue }
                let feedForward = matcher.isFeedForward(path)
                plan[AdapterModuleKey(layer: layer, module: module)] = Expectation(
                    rank: try matcher.rank(for: path), alpha: try matcher.alpha(for: path), feedForward: feedForward)
            }
        }
        guard !plan.isEmpty else {
            throw FormatError(.invalidValue, file: configPath, item: "target_modules",
                              expected: "a selection of at least one of the model's modules (\(known))",
                              found: "\(config.targetModules), which selects none")
        }
        return plan
    }

    /// Every tensor of the file, by module and role. Refuses names Flora cannot place: unknown
    /// modules, layers beyond the model, roles of another adapter kind, modules the config does
    /// not target, duplicates.
    static func tensorsByModule(
        _ file: SafetensorsFile, kind: AdapterKind, plan: [AdapterModuleKey: Expectation], shapes: AdapterTargetShapes
    ) throws -> [AdapterModuleKey: [PEFTTensorName.Role: String]] {
        let roles: [PEFTTensorName.Role] = switch kind {
        case .flora: [.floraA, .floraB]
        case .lora: [.loraA, .loraB]
        case .ia3: [.ia3]
        }
        let roleList = roles.map(\.suffix).joined(separator: ", ")
        var found: [AdapterModuleKey: [PEFTTensorName.Role: String]] = [:]
        for name in file.tensorNames {
            guard let parsed = PEFTTensorName(parsing: name) else {
                throw FormatError(.invalidValue, file: file.path, item: name,
                                  expected: "only adapter tensors named \(PEFTTensorName.prefix)model.layers.<i>.<self_attn|mlp>.<module>.<\(roleList)>",
                                  found: "an unexpected tensor")
            }
            guard let module = TargetModule(rawValue: parsed.module), module.block == parsed.block, shapes.has(module) else {
                let known = TargetModule.allCases.filter(shapes.has).map { "\($0.block).\($0.rawValue)" }.joined(separator: ", ")
                throw FormatError(.invalidValue, file: file.path, item: name, expected: "a module the model has (\(known))",
                                  found: "module '\(parsed.block).\(parsed.module)'")
            }
            guard parsed.layer < shapes.layers else {
                throw FormatError(.invalidValue, file: file.path, item: name,
                                  expected: "a layer index below the model's \(shapes.layers) layers",
                                  found: parsed.layer == Int.max ? "an index too large to represent" : "layer \(parsed.layer)")
            }
            guard roles.contains(parsed.role) else {
                throw FormatError(.invalidValue, file: file.path, item: name,
                                  expected: "\(kind) tensors (\(roleList))", found: "a \(parsed.role.rawValue) tensor")
            }
            let key = AdapterModuleKey(layer: parsed.layer, module: module)
            guard plan[key] != nil else {
                throw FormatError(.invalidValue, file: file.path, item: name,
                                  expected: "tensors only for modules the config's target_modules select",
                                  found: "a tensor for \(module.modulePath(layer: parsed.layer)), which the config does not target")
            }
            if let other = found[key]?[parsed.role] {
                throw FormatError(.invalidValue, file: file.path, item: name, expected: "one tensor per module and role",
                                  found: "a second one beside '\(other)'")
            }
            found[key, default: [:]][parsed.role] = name
        }
        return found
    }

    /// The tensor's values as fp32, after checking dtype (F32, F16 or BF16), shape and finiteness.
    static func values(of name: String, in file: SafetensorsFile, shape: [Int], why: String) throws -> [Float] {
        let info = try file.info(name)
        guard [.f32, .f16, .bf16].contains(info.dtype) else {
            throw FormatError(.unsupportedType, file: file.path, item: name, expected: "dtype F32, F16 or BF16", found: "dtype \(info.dtype)")
        }
        guard info.shape == shape else {
            throw FormatError(.invalidValue, file: file.path, item: name, expected: "shape \(shape) (\(why))", found: "shape \(info.shape)")
        }
        return try file.tensor(name).toArray()  // converts, and refuses NaN and infinities
    }
}
