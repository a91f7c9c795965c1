// Loading what a PEFT folder holds for the token embedding and the LM head (VocabularyAdapter.swift):
// LoRA on either when `target_modules` names it, a full copy when `modules_to_save` does. Tensor
// names as PEFTVocabularyTensorName.swift parses them; every tensor checked against the model's
// vocabulary size and d_model from the header, and for finite values when read.

import FloraFormats
import FloraTensor

extension AdapterLoader {
    /// What the config asks of one vocabulary module.
    enum VocabularyExpectation: Equatable {
        case lora(rank: Int, alpha: Double)
        /// A `modules_to_save` copy of the whole weight.
        case saved
    }

    /// One tensor of a vocabulary module.
    struct VocabularyTensorKey: Hashable {
        let module: VocabularyModule
        let role: PEFTVocabularyTensorName.Role
    }

    /// The vocabulary modules the config adapts, and their tensors checked from the header.
    struct VocabularyInspection {
        var plan: [VocabularyModule: VocabularyExpectation] = [:]
        /// The tensors to read (not the base weights PEFT saves beside an adapted embedding).
        var tensors: [VocabularyTensorKey: SafetensorsTensorInfo] = [:]
        var tensorBytes = 0

        init() {}

        init(_ peft: PEFTFolder, matcher: PEFTModuleMatcher, kind: AdapterKind, shapes: AdapterTargetShapes) throws {
            plan = try vocabularyPlan(matcher, kind: kind, shapes: shapes, configPath: peft.configPath)
            guard !plan.isEmpty || peft.weights.orderedTensorInfos.contains(where: { PEFTVocabularyTensorName(parsing: $0.name) != nil }) else {
                return
            }
            let file = peft.weights
            let (v, d) = (shapes.vocabularySize, shapes.hiddenSize)
            for info in file.orderedTensorInfos {
                guard let parsed = PEFTVocabularyTensorName(parsing: info.name) else { continue }
                let module: VocabularyModule = parsed.isHead ? .head : .embedding
                guard parsed.modulePath == module.modulePath(in: shapes) else {
                    throw FormatError(.invalidValue, file: file.path, item: info.name,
                                      expected: "the model's \(module.modulePath(in: shapes))", found: "module '\(parsed.modulePath)'")
                }
                let expected = plan[module]
                let (r, lora) = (expected?.rank ?? 0, expected?.isLoRA == true)
                let (shape, fits): ([Int], Bool) = switch parsed.role {
                case .embeddingA: ([r, v], module == .embedding && lora)
                case .embeddingB: ([d, r], module == .embedding && lora)
                case .loraA: ([r, d], module == .head && lora)
                case .loraB: ([v, r], module == .head && lora)
                case .savedWeight: ([v, d], expected == .saved)
                case .baseWeight: ([v, d], lora)
                }
                guard fits else {
                    let asked = switch expected {
                    case .lora: "LoRA tensors (\(module == .head ? "lora_A, lora_B" : "lora_embedding_A, lora_embedding_B"))"
                    case .saved: "its modules_to_save copy (\(module.modulePath(in: shapes)).weight)"
                    case nil: "no tensor (neither target_modules nor modules_to_save names \(module.rawValue))"
                    }
                    throw FormatError(.invalidValue, file: file.path, item: info.name,
                                      expected: "for \(module.modulePath(in: shapes)) \(asked)", found: "a \(parsed.role.rawValue) tensor")
                }
                let why = "vocabulary \(v), hidden size \(d)" + (expected?.isLoRA == true ? ", rank \(expected!.rank) from the config" : "")
                try checkHeader(of: info, in: file, shape: shape, why: why)
                guard parsed.role != .baseWeight else { continue }
                if let other = tensors.updateValue(info, forKey: VocabularyTensorKey(module: module, role: parsed.role)) {
                    throw FormatError(.invalidValue, file: file.path, item: info.name, expected: "one tensor per module and role",
                                      found: "a second one beside '\(other.name)'")
                }
                tensorBytes += info.dataOffsets.count
            }
            for (module, expected) in plan {
                let roles: [PEFTVocabularyTensorName.Role] = switch (module, expected) {
                case (.embedding, .lora): [.embeddingA, .embeddingB]
                case (.head, .lora): [.loraA, .loraB]
                case (_, .saved): [.savedWeight]
                }
                for role in roles where tensors[VocabularyTensorKey(module: module, role: role)] == nil {
                    let name = PEFTVocabularyTensorName(modulePath: module.modulePath(in: shapes), role: role).name
                    throw FormatError(.missing, file: file.path, item: name,
                                      expected: "this tensor (\(module.modulePath(in: shapes)) is \(expected == .saved ? "in modules_to_save" : "targeted"))",
                                      found: "no such tensor")
                }
            }
        }

        /// Reads the tensors (refusing values that are not finite) into the adapter's parts.
        func load(_ file: SafetensorsFile, shapes: AdapterTargetShapes, useRSLoRA: Bool) throws -> (EmbeddingAdapter?, HeadAdapter?) {
            let (v, d) = (shapes.vocabularySize, shapes.hiddenSize)
            func info(_ module: VocabularyModule, _ role: PEFTVocabularyTensorName.Role) -> SafetensorsTensorInfo {
                tensors[VocabularyTensorKey(module: module, role: role)]!
            }
            func read(_ module: VocabularyModule, _ role: PEFTVocabularyTensorName.Role) throws -> [Float] {
                try file.tensor(info(module, role).name).toArray()
            }
            var embedding: EmbeddingAdapter?
            var head: HeadAdapter?
            switch plan[.embedding] {
            case .lora(let rank, let alpha):
                embedding = .lora(try EmbeddingLoRA(
                    rank: rank, vocabularySize: v, hiddenSize: d, a: read(.embedding, .embeddingA), b: read(.embedding, .embeddingB),
                    alpha: Float(alpha), useRSLoRA: useRSLoRA))
            case .saved: embedding = .table(try file.tensor(info(.embedding, .savedWeight).name))
            case nil: break
            }
            switch plan[.head] {
            case .lora(let rank, let alpha):
                head = .lora(try LoRAFactors(
                    rank: rank, inputs: d, outputs: v, a: read(.head, .loraA), b: read(.head, .loraB), alpha: Float(alpha), useRSLoRA: useRSLoRA))
            case .saved:
                // Packed a panel at a time: no second fp32 copy of a head that may be 113 MB.
                let name = info(.head, .savedWeight).name
                head = .full(try PackedMatrix(outputs: v, inputs: d) { first, count, destination in
                    try file.convertRows(of: name, first ..< first + count, into: destination)
                })
            case nil: break
            }
            return (embedding, head)
        }
    }

    /// The vocabulary modules the config adapts in a model of `shapes`. Refuses a module both
    /// targeted and saved, LoRA-only targets of another adapter kind, and a model of unknown vocabulary.
    static func vocabularyPlan(
        _ matcher: PEFTModuleMatcher, kind: AdapterKind, shapes: AdapterTargetShapes, configPath: String
    ) throws -> [VocabularyModule: VocabularyExpectation] {
        let config = matcher.config
        var plan: [VocabularyModule: VocabularyExpectation] = [:]
        for module in VocabularyModule.allCases {
            let path = module.modulePath(in: shapes)
            let saved = config.modulesToSave.contains { PEFTModuleMatcher.listEntry($0, selects: path) }
            // Shapes without a vocabulary (made by hand, not by a model) have no embedding or head
            // to target: expectedModules then refuses a list naming them, with the modules there are.
            let targeted = shapes.vocabularySize > 0 && matcher.targetsOutsideLayers(path)
            if saved && targeted {
                throw FormatError(.invalidValue, file: configPath, item: "modules_to_save",
                                  expected: "modules that target_modules does not also adapt", found: "\(path) in both")
            }
            if targeted {
                guard kind == .lora else {
                    throw FormatError(.invalidValue, file: configPath, item: "target_modules",
                                      expected: "\(module.rawValue) only in a LoRA adapter", found: "it in a \(kind) adapter")
                }
                plan[module] = .lora(rank: try matcher.rank(for: path), alpha: try matcher.alpha(for: path))
            } else if saved {
                plan[module] = .saved
            }
        }
        if !plan.isEmpty, shapes.vocabularySize == 0 {
            throw FormatError(.invalidValue, file: configPath, item: plan.keys.contains { plan[$0] == .saved } ? "modules_to_save" : "target_modules",
                              expected: "a model whose vocabulary size is known, to adapt embed_tokens or lm_head", found: "none given")
        }
        return plan
    }
}

extension AdapterLoader.VocabularyExpectation {
    var isLoRA: Bool { if case .lora = self { true } else { false } }
    var rank: Int { if case .lora(let r, _) = self { r } else { 0 } }
}
