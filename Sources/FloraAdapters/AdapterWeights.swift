// One adapter's weights for every (layer, module) it targets: immutable, Sendable data that can be
// loaded off the step loop and then installed into a bank slot (STYLE.md habit 6).

import FloraTensor

/// A (layer, module) pair of the base model.
public struct AdapterModuleKey: Hashable, Sendable, Comparable {
    public let layer: Int
    public let module: TargetModule

    public init(layer: Int, module: TargetModule) {
        self.layer = layer
        self.module = module
    }

    public static func < (l: AdapterModuleKey, r: AdapterModuleKey) -> Bool {
        (l.layer, l.module.index) < (r.layer, r.module.index)
    }
}

/// An fLoRA, LoRA, IA3, DoRA or RoAd adapter, checked against the dimensions of one base model.
public final class AdapterWeights: Sendable {
    public let name: String
    public let kind: AdapterKind
    /// The config's default rank `r` (IA3: 1). Single modules may differ (PEFT's `rank_pattern`).
    public let rank: Int
    /// LoRA's default `lora_alpha` (single modules may differ, PEFT's `alpha_pattern`); nil otherwise.
    public let loraAlpha: Float?
    /// LoRA's rsLoRA scaling, `alpha / sqrt(r)`.
    public let useRSLoRA: Bool
    /// The base model's dimensions this adapter was checked against.
    public let shapes: AdapterTargetShapes
    /// Modules targeted in at least one layer, in `TargetModule` order.
    public let targets: [TargetModule]
    /// `base_model_name_or_path` of the PEFT config, kept for writing the adapter back.
    public let baseModelNameOrPath: String?
    /// Bytes held by the adapter's tensors (including the packed copies the kernels read, and a
    /// full head or embedding table: 113 MB each for SmolLM2, which the adapter cache's byte budget bounds).
    public let sizeInBytes: Int
    /// What the adapter does to the token embedding, nil when nothing.
    public let embedding: EmbeddingAdapter?
    /// What the adapter does to the LM head, nil when nothing.
    public let head: HeadAdapter?
    private let table: [AdapterModuleWeights?]  // [layers * 7], by (layer, TargetModule.index)

    /// Checks every module against `shapes` and against `kind`.
    public init(
        name: String, kind: AdapterKind, rank: Int, shapes: AdapterTargetShapes,
        modules: [AdapterModuleKey: AdapterModuleWeights],
        loraAlpha: Float? = nil, useRSLoRA: Bool = false, baseModelNameOrPath: String? = nil,
        embedding: EmbeddingAdapter? = nil, head: HeadAdapter? = nil
    ) throws {
        guard rank > 0 else { throw AdapterError.invalidArgument(what: "rank of '\(name)'", expected: "at least 1", found: "\(rank)") }
        guard !modules.isEmpty || embedding != nil || head != nil else {
            throw AdapterError.invalidArgument(
                what: "modules of '\(name)'", expected: "at least one (layer, module), embed_tokens or lm_head", found: "none")
        }
        var bytes = try checkVocabularyAdapters(name: name, embedding: embedding, head: head, shapes: shapes)
        var table = [AdapterModuleWeights?](repeating: nil, count: shapes.layers * TargetModule.count)
        var targeted = Set<TargetModule>()
        for (key, weights) in modules.sorted(by: { $0.key < $1.key }) {
            let place = "layer \(key.layer) \(key.module.rawValue)"
            guard key.layer >= 0, key.layer < shapes.layers else {
                throw AdapterError.shapeMismatch(adapter: name, expected: "layer index below \(shapes.layers)", found: "\(place)")
            }
            guard shapes.has(key.module) else {
                throw AdapterError.shapeMismatch(adapter: name, expected: "a module the model has (\(shapes))", found: place)
            }
            guard weights.kind == kind else {
                throw AdapterError.invalidArgument(what: "\(place) of '\(name)'", expected: "\(kind) weights", found: "\(weights.kind) weights")
            }
            let (i, o) = (shapes.inputs(key.module), shapes.outputs(key.module))
            guard weights.inputs == i, weights.outputs == o else {
                throw AdapterError.shapeMismatch(
                    adapter: name, expected: "\(place) with \(i) inputs and \(o) outputs",
                    found: "\(weights.inputs) inputs and \(weights.outputs) outputs")
            }
            table[key.layer * TargetModule.count + key.module.index] = weights
            targeted.insert(key.module)
            bytes += weights.byteCount
        }
        self.name = name
        self.kind = kind
        self.rank = kind == .ia3 || kind == .road ? 1 : rank
        self.loraAlpha = kind.hasLoRAFactors ? loraAlpha ?? Float(rank) : nil
        self.useRSLoRA = kind.hasLoRAFactors && useRSLoRA
        self.shapes = shapes
        self.targets = TargetModule.allCases.filter(targeted.contains)
        self.baseModelNameOrPath = baseModelNameOrPath
        self.sizeInBytes = bytes
        self.embedding = embedding
        self.head = head
        self.table = table
    }

    /// The adapter's weights at (layer, module), nil where it leaves the layer unchanged.
    @inline(__always)
    public func module(layer: Int, _ module: TargetModule) -> AdapterModuleWeights? {
        table[layer * TargetModule.count + module.index]
    }

    /// Every (layer, module) the adapter changes, layers ascending, modules in `TargetModule` order.
    public var moduleKeys: [AdapterModuleKey] {
        var keys: [AdapterModuleKey] = []
        for layer in 0..<shapes.layers {
            for module in TargetModule.allCases where self.module(layer: layer, module) != nil {
                keys.append(AdapterModuleKey(layer: layer, module: module))
            }
        }
        return keys
    }

    /// IA3: the modules whose input (not output) is scaled, PEFT's `feedforward_modules`.
    public var feedForwardModules: [TargetModule] {
        TargetModule.allCases.filter { module in
            (0..<shapes.layers).contains { layer in
                if case .ia3(let v) = self.module(layer: layer, module) { v.feedForward } else { false }
            }
        }
    }
}
