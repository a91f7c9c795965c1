// Loading a PEFT adapter folder (DESIGN.md section 2) into AdapterWeights, checked against the base
// model: config valid, every module it names present in the model, every tensor present, of a
// float dtype, with the shape the model and rank demand, finite, and no tensor left unexplained.
// Errors are FloraFormats' FormatError naming the file, the tensor or key, expected and found.

import FloraFormats
import FloraTensor
import Foundation

public enum AdapterLoader {
    /// Checks the adapter in `folder` against a model of `shapes` from its config and its
    /// safetensors header alone: everything `load` checks except the values themselves (which
    /// `load` still refuses when they are not finite). Registering thousands of adapters costs
    /// two small reads each.
    public static func inspect(folder: String, shapes: AdapterTargetShapes) throws -> AdapterManifest {
        try Inspection(PEFTFolder(path: folder), shapes: shapes).manifest
    }

    /// Loads the adapter in `folder` for a model of `shapes`, naming it `name`. Nothing is kept
    /// if anything is refused. A DoRA adapter needs `baseWeights` (its norm is `‖W + s·B A‖`).
    public static func load(
        folder: String, name: String, shapes: AdapterTargetShapes, baseWeights: (any AdapterBaseWeights)? = nil
    ) throws -> AdapterWeights {
        let inspection = try Inspection(PEFTFolder(path: folder), shapes: shapes)
        let (peft, kind, config) = (inspection.peft, inspection.kind, inspection.peft.config)
        if kind == .dora, baseWeights == nil {
            throw FormatError(.invalidValue, file: peft.configPath, item: "use_dora",
                              expected: "a loader given the base model's weights (DoRA's norm is ‖W + s·B A‖)", found: "true, and no base weights")
        }
        var modules: [AdapterModuleKey: AdapterModuleWeights] = [:]
        for (key, expectation) in inspection.plan.sorted(by: { $0.key < $1.key }) {
            let (d_in, d_out) = (shapes.inputs(key.module), shapes.outputs(key.module))
            func read(_ role: PEFTTensorName.Role) throws -> [Float] {
                // Converts to fp32, and refuses NaN and infinities.
                try peft.weights.tensor(inspection.tensors[TensorKey(module: key, role: role)]!.name).toArray()
            }
            let r = expectation.rank
            switch kind {
            case .flora:
                modules[key] = .flora(try FloraFactors(rank: r, inputs: d_in, outputs: d_out, a: read(.floraA), b: read(.floraB)))
            case .lora:
                modules[key] = .lora(try LoRAFactors(
                    rank: r, inputs: d_in, outputs: d_out, a: read(.loraA), b: read(.loraB),
                    alpha: Float(expectation.alpha), useRSLoRA: config.useRSLoRA))
            case .ia3:
                modules[key] = .ia3(try IA3Vector(inputs: d_in, outputs: d_out, feedForward: expectation.feedForward, l: read(.ia3)))
            case .dora:
                let lora = try LoRAFactors(
                    rank: r, inputs: d_in, outputs: d_out, a: read(.loraA), b: read(.loraB),
                    alpha: Float(expectation.alpha), useRSLoRA: config.useRSLoRA)
                guard let w = baseWeights?.adapterBaseWeight(layer: key.layer, module: key.module), w.shape == [d_out, d_in] else {
                    throw FormatError(.invalidValue, file: peft.configPath, item: "use_dora",
                                      expected: "the base weight [\(d_out), \(d_in)] of layer \(key.layer) \(key.module.rawValue)",
                                      found: "none of that shape in the base model")
                }
                let magnitudeName = inspection.tensors[TensorKey(module: key, role: .loraMagnitude)]!.name
                do {
                    modules[key] = .dora(try DoRAFactors(lora: lora, magnitude: read(.loraMagnitude), baseWeight: w))
                } catch let error as AdapterError {
                    throw FormatError(.invalidValue, file: peft.weightsPath, item: magnitudeName, expected: "a usable DoRA magnitude", found: "\(error)")
                }
            case .road:
                modules[key] = .road(try RoadRotation(
                    variant: config.roadVariant, groupSize: config.groupSize, inputs: d_in, outputs: d_out,
                    theta: read(.roadTheta), alpha: read(.roadAlpha)))
            }
        }
        let (embedding, head) = try inspection.vocabulary.load(peft.weights, shapes: shapes, useRSLoRA: config.useRSLoRA)
        return try AdapterWeights(
            name: name, kind: kind, rank: config.r, shapes: shapes, modules: modules,
            loraAlpha: kind.hasLoRAFactors ? Float(config.loraAlpha) : nil, useRSLoRA: config.useRSLoRA,
            baseModelNameOrPath: config.baseModelNameOrPath, embedding: embedding, head: head)
    }

    /// An opened folder checked against the model down to every tensor's name, dtype and
    /// shape: what `inspect` and `load` share.
    struct Inspection {
        let peft: PEFTFolder
        let kind: AdapterKind
        let plan: [AdapterModuleKey: Expectation]
        /// Every targeted (layer, module)'s tensors by role; all present, of the right dtype and shape.
        let tensors: [TensorKey: SafetensorsTensorInfo]
        /// The token embedding and LM head, when the adapter changes them.
        let vocabulary: VocabularyInspection
        /// Bytes of those tensors in the file.
        let tensorBytes: Int

        init(_ peft: PEFTFolder, shapes: AdapterTargetShapes) throws {
            let matcher = try PEFTModuleMatcher(peft.config, file: peft.configPath)
            let kind = adapterKind(peft.config)
            let vocabulary = try VocabularyInspection(peft, matcher: matcher, kind: kind, shapes: shapes)
            let plan = try expectedModules(matcher, shapes: shapes, configPath: peft.configPath, outsideLayers: !vocabulary.plan.isEmpty)
            if kind == .road, let bad = plan.keys.sorted().first(where: { shapes.outputs($0.module) % peft.config.groupSize != 0 }) {
                throw FormatError(.invalidValue, file: peft.configPath, item: "group_size",
                                  expected: "a divisor of the outputs of every targeted module",
                                  found: "\(peft.config.groupSize), which does not divide the \(shapes.outputs(bad.module)) outputs of \(bad.module.rawValue)")
            }
            let found = try tensorsByModule(peft.weights, kind: kind, plan: plan, shapes: shapes)
            var tensorBytes = vocabulary.tensorBytes
            for (key, expectation) in plan {
                let (d_in, d_out) = (shapes.inputs(key.module), shapes.outputs(key.module))
                let r = expectation.rank
                let expected: [(PEFTTensorName.Role, [Int])] = switch kind {
                case .flora: [(.floraA, [r, d_in]), (.floraB, [d_out, r])]
                case .lora: [(.loraA, [r, d_in]), (.loraB, [d_out, r])]
                case .ia3: [(.ia3, expectation.feedForward ? [1, d_in] : [d_out, 1])]
                case .dora: [(.loraA, [r, d_in]), (.loraB, [d_out, r]), (.loraMagnitude, [d_out])]
                case .road:
                    [(.roadTheta, [RoadRotation.valueCount(peft.config.roadVariant, outputs: d_out)]),
                     (.roadAlpha, [RoadRotation.valueCount(peft.config.roadVariant, outputs: d_out)])]
                }
                for (role, shape) in expected {
                    guard let info = found[TensorKey(module: key, role: role)] else {
                        let canonical = PEFTTensorName(
                            layerStack: key.module.layerStack, layer: key.layer, block: key.module.block, module: key.module.name, role: role)
                        throw FormatError(.missing, file: peft.weightsPath, item: canonical.name,
                                          expected: "a tensor of shape \(shape) (\(key.module.rawValue) of layer \(key.layer) is targeted)",
                                          found: "no such tensor")
                    }
                    if info.shape != shape || ![.f32, .f16, .bf16].contains(info.dtype) {
                        let why = "\(key.module.rawValue) has \(d_in) inputs and \(d_out) outputs"
                            + (kind == .ia3 ? "" : kind == .road ? ", \(peft.config.roadVariant.rawValue) with group_size \(peft.config.groupSize)"
                               : ", rank \(expectation.rank) from the config")
                        try checkHeader(of: info, in: peft.weights, shape: shape, why: why)
                    }
                    tensorBytes += info.dataOffsets.count
                }
            }
            self.peft = peft
            self.kind = kind
            self.plan = plan
            self.vocabulary = vocabulary
            tensors = found
            self.tensorBytes = tensorBytes
        }

        var manifest: AdapterManifest {
            AdapterManifest(
                kind: kind, rank: kind == .ia3 || kind == .road ? 1 : peft.config.r,
                modules: plan.map { AdapterManifest.Module(key: $0.key, rank: $0.value.rank, feedForward: kind == .ia3 && $0.value.feedForward) }.sorted { $0.key < $1.key },
                tensorBytes: tensorBytes,
                vocabularyModules: VocabularyModule.allCases.compactMap { module in
                    vocabulary.plan[module].map { AdapterManifest.VocabularyPart(module: module, rank: $0.rank, savedCopy: $0 == .saved) }
                })
        }
    }

    /// One tensor of an adapter: a targeted (layer, module) and the role the tensor plays there.
    struct TensorKey: Hashable {
        let module: AdapterModuleKey
        let role: PEFTTensorName.Role
    }

    static func adapterKind(_ config: PEFTConfig) -> AdapterKind {
        switch config.peftType {
        case .lora: config.useDoRA ? .dora : .lora
        case .ia3: .ia3
        case .flora: .flora
        case .road: .road
        }
    }

    /// What one targeted module must hold.
    struct Expectation {
        var rank: Int
        var alpha: Double
        var feedForward: Bool
    }

    /// The (layer, module) pairs the config targets in this model, with their rank, alpha and
    /// IA3 role. Refuses list entries that name no module of the model, and configs that target
    /// nothing (the embedding or head count when `outsideLayers`).
    static func expectedModules(
        _ matcher: PEFTModuleMatcher, shapes: AdapterTargetShapes, configPath: String, outsideLayers: Bool = false
    ) throws -> [AdapterModuleKey: Expectation] {
        let config = matcher.config
        let modules = TargetModule.allCases.filter(shapes.has)
        let known = modules.map(\.rawValue).joined(separator: ", ")
        func checkNames(_ selector: PEFTConfig.ModuleSelector?, key: String) throws {
            guard case .names(let names) = selector else { return }
            for entry in names {
                // A bare module name (the usual entry) selects that module in every layer.
                let exists = modules.contains { $0.rawValue == entry || $0.name == entry } || modules.contains { module in
                    (0..<shapes.layers).contains { PEFTModuleMatcher.listEntry(entry, selects: module.modulePath(layer: $0)) }
                } || shapes.vocabularySize > 0
                    && VocabularyModule.allCases.contains { PEFTModuleMatcher.listEntry(entry, selects: $0.modulePath(in: shapes)) }
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
        guard !plan.isEmpty || outsideLayers else {
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
    ) throws -> [TensorKey: SafetensorsTensorInfo] {
        let roles: [PEFTTensorName.Role] = switch kind {
        case .flora: [.floraA, .floraB]
        case .lora: [.loraA, .loraB]
        case .ia3: [.ia3]
        case .dora: [.loraA, .loraB, .loraMagnitude]
        case .road: [.roadTheta, .roadAlpha]
        }
        let roleList = roles.map(\.suffix).joined(separator: ", ")
        var found: [TensorKey: SafetensorsTensorInfo] = [:]
        found.reserveCapacity(file.orderedTensorInfos.count)
        for info in file.orderedTensorInfos {
            let name = info.name
            // The embedding's and head's tensors: VocabularyInspection's.
            if PEFTVocabularyTensorName(parsing: name) != nil { continue }
            guard let parsed = PEFTTensorName(parsing: name) else {
                throw FormatError(.invalidValue, file: file.path, item: name,
                                  expected: "only adapter tensors named \(PEFTTensorName.prefix)<\(PEFTTensorName.layerStacks.joined(separator: "|"))>.<i>.<block>.<module>.<\(roleList)>",
                                  found: "an unexpected tensor")
            }
            guard let module = TargetModule(layerStack: parsed.layerStack, block: parsed.block, name: parsed.module), shapes.has(module) else {
                let known = TargetModule.allCases.filter(shapes.has).map { "\($0.layerStack).<i>.\($0.block).\($0.name)" }
                throw FormatError(.invalidValue, file: file.path, item: name, expected: "a module the model has (\(known.joined(separator: ", ")))",
                                  found: "module '\(parsed.modulePath)'")
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
            if let other = found.updateValue(info, forKey: TensorKey(module: key, role: parsed.role)) {
                throw FormatError(.invalidValue, file: file.path, item: name, expected: "one tensor per module and role",
                                  found: "a second one beside '\(other.name)'")
            }
        }
        return found
    }

    /// Checks a tensor's dtype (F32, F16 or BF16) and shape from the header.
    static func checkHeader(of info: SafetensorsTensorInfo, in file: SafetensorsFile, shape: [Int], why: String) throws {
        let name = info.name
        guard [.f32, .f16, .bf16].contains(info.dtype) else {
            throw FormatError(.unsupportedType, file: file.path, item: name, expected: "dtype F32, F16 or BF16", found: "dtype \(info.dtype)")
        }
        guard info.shape == shape else {
            throw FormatError(.invalidValue, file: file.path, item: name, expected: "shape \(shape) (\(why))", found: "shape \(info.shape)")
        }
    }
}
