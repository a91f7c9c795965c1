// What an adapter folder holds, read from its config and safetensors header without reading the
// tensors: enough to register the adapter, list it and refuse it before any request needs it.

public struct AdapterManifest: Sendable, Equatable {
    /// One targeted (layer, module) and its rank (PEFT's `rank_pattern` may vary it; IA3: 1).
    public struct Module: Sendable, Equatable {
        public var key: AdapterModuleKey
        public var rank: Int
        /// IA3: whether the module's input (not its output) is scaled.
        public var feedForward = false
    }

    public var kind: AdapterKind
    /// The config's default rank (IA3 and RoAd: 1).
    public var rank: Int
    /// Targeted modules, layers ascending.
    public var modules: [Module]
    /// Bytes of the adapter's tensors in the file.
    public var tensorBytes: Int
    /// What the adapter does to the token embedding and the LM head.
    public var vocabularyModules: [VocabularyPart] = []

    /// LoRA of a rank on the token embedding or LM head, or a full `modules_to_save` copy of it.
    public struct VocabularyPart: Sendable, Equatable, CustomStringConvertible {
        public var module: VocabularyModule
        /// 0 for a saved copy.
        public var rank: Int
        public var savedCopy: Bool

        public var description: String { savedCopy ? "\(module.rawValue) (full copy)" : "\(module.rawValue) (LoRA rank \(rank))" }
    }

    /// Module names targeted in at least one layer, in `TargetModule` order.
    public var targets: [TargetModule] {
        let targeted = Set(modules.map(\.key.module))
        return TargetModule.allCases.filter(targeted.contains)
    }
}
