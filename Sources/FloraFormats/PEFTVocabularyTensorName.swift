// Tensor names of the modules outside the transformer blocks in PEFT adapter files, as
// peft/utils/save_and_load.py writes them (the adapter name removed):
// - LoRA on the embedding (peft/tuners/lora/layer.py, class Embedding): parameters, not modules, so
//   no `.weight`: `base_model.model.model.embed_tokens.lora_embedding_A` `[r, vocab]` and
//   `...lora_embedding_B` `[d_model, r]`;
// - LoRA on the head, an ordinary Linear: `base_model.model.lm_head.lora_A.weight` / `lora_B.weight`;
// - `modules_to_save` copies, saved without their `modules_to_save.<adapter>` prefix:
//   `base_model.model.lm_head.weight`, `base_model.model.model.embed_tokens.weight`;
// - the base layer's own weight, which `save_embedding_layers` adds when an embedding is adapted:
//   `base_model.model.<module>.base_layer.weight`.
// GPTBigCode's embedding is `transformer.wte`.

/// A parsed tensor name of the token embedding or the LM head.
public struct PEFTVocabularyTensorName: Sendable, Equatable {
    public enum Role: String, Sendable, CaseIterable {
        case embeddingA = "lora_embedding_A"
        case embeddingB = "lora_embedding_B"
        case loraA = "lora_A"
        case loraB = "lora_B"
        /// A `modules_to_save` copy of the whole weight.
        case savedWeight = "weight"
        /// The base model's own weight, saved beside an adapted embedding.
        case baseWeight = "base_layer"
    }

    /// The module paths that PEFT names: Llama's embedding, GPTBigCode's, the head.
    public static let modulePaths = ["model.embed_tokens", "transformer.wte", "lm_head"]

    /// One of `modulePaths`.
    public let modulePath: String
    public let role: Role

    public init(modulePath: String, role: Role) {
        self.modulePath = modulePath
        self.role = role
    }

    /// Whether the module is the head (else an embedding).
    public var isHead: Bool { modulePath == "lm_head" }

    /// The name as current PEFT writes it.
    public var name: String {
        let suffix = switch role {
        case .embeddingA, .embeddingB: role.rawValue
        case .loraA, .loraB, .baseWeight: role.rawValue + ".weight"
        case .savedWeight: "weight"
        }
        return PEFTTensorName.prefix + modulePath + "." + suffix
    }

    /// Parses the forms above, also with the adapter name older PEFT versions kept
    /// (`lora_embedding_A.default`, `lora_A.default.weight`, `modules_to_save.default.weight`);
    /// nil for any other name.
    public init?(parsing name: String) {
        guard name.hasPrefix(PEFTTensorName.prefix) else { return nil }
        let rest = name.dropFirst(PEFTTensorName.prefix.count)
        // Loaders ask this of every tensor name of every adapter: the blocks' names leave at once.
        guard let path = Self.modulePaths.first(where: { rest.hasPrefix($0) && rest.dropFirst($0.count).first == "." }) else {
            return nil
        }
        var fields = rest.dropFirst(path.count + 1).split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        if fields.first == "modules_to_save" {
            guard fields.count == 3, fields[1] == "default", fields[2] == "weight" else { return nil }
            fields = ["weight"]
        }
        if fields.count >= 2, fields[1] == "default" { fields.remove(at: 1) }
        let role: Role
        switch fields {
        case ["lora_embedding_A"]: role = .embeddingA
        case ["lora_embedding_B"]: role = .embeddingB
        case ["lora_A", "weight"]: role = .loraA
        case ["lora_B", "weight"]: role = .loraB
        case ["base_layer", "weight"]: role = .baseWeight
        case ["weight"]: role = .savedWeight
        default: return nil
        }
        self.init(modulePath: path, role: role)
    }
}
