// Tensor names of the token embedding and LM head in PEFT files, as peft/utils/save_and_load.py
// writes them (with and without the adapter name older versions kept).

import FloraFormats
import Testing

@Suite struct PEFTVocabularyTensorNameTests {
    static let names: [(String, String, PEFTVocabularyTensorName.Role)] = [
        ("base_model.model.model.embed_tokens.lora_embedding_A", "model.embed_tokens", .embeddingA),
        ("base_model.model.model.embed_tokens.lora_embedding_B.default", "model.embed_tokens", .embeddingB),
        ("base_model.model.transformer.wte.lora_embedding_A", "transformer.wte", .embeddingA),
        ("base_model.model.lm_head.lora_A.weight", "lm_head", .loraA),
        ("base_model.model.lm_head.lora_B.default.weight", "lm_head", .loraB),
        ("base_model.model.lm_head.weight", "lm_head", .savedWeight),
        ("base_model.model.lm_head.modules_to_save.default.weight", "lm_head", .savedWeight),
        ("base_model.model.model.embed_tokens.weight", "model.embed_tokens", .savedWeight),
        ("base_model.model.model.embed_tokens.base_layer.weight", "model.embed_tokens", .baseWeight),
    ]

    @Test("PEFT's embedding and head tensor names parse to their module and role", arguments: names)
    func parses(name: String, path: String, role: PEFTVocabularyTensorName.Role) throws {
        let parsed = try #require(PEFTVocabularyTensorName(parsing: name))
        #expect(parsed.modulePath == path)
        #expect(parsed.role == role)
        #expect(PEFTVocabularyTensorName(parsing: parsed.name) == parsed, "the canonical name \(parsed.name) parses back")
    }

    @Test("other names are not embedding or head tensors", arguments: [
        "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight",
        "base_model.model.lm_head.lora_A",
        "base_model.model.lm_head.bias",
        "base_model.model.lm_headx.weight",
        "base_model.model.model.embed_tokens.lora_embedding_A.weight",
        "model.embed_tokens.weight",
    ])
    func refuses(name: String) {
        #expect(PEFTVocabularyTensorName(parsing: name) == nil)
    }
}
