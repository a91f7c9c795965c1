// PEFT adapter tensor names: every spelling PEFT has written parses, anything else is nil.
import FloraFormats
import Testing

@Test("PEFT tensor names parse in every spelling PEFT writes", arguments: [
    ("base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight", 3, "self_attn", "q_proj", PEFTTensorName.Role.loraA),
    ("base_model.model.model.layers.12.mlp.down_proj.lora_B.default.weight", 12, "mlp", "down_proj", .loraB),
    ("base_model.model.model.layers.0.mlp.up_proj.ia3_l", 0, "mlp", "up_proj", .ia3),
    ("base_model.model.model.layers.0.mlp.up_proj.ia3_l.default", 0, "mlp", "up_proj", .ia3),
    ("base_model.model.model.layers.29.self_attn.v_proj.flora_B.weight", 29, "self_attn", "v_proj", .floraB),
    ("base_model.model.model.layers.99999999999999999999.self_attn.q_proj.lora_A.weight", Int.max, "self_attn", "q_proj", .loraA),
    // GPTBigCode (StarCoder): `transformer.h`, and a c_proj in each block.
    ("base_model.model.transformer.h.3.attn.c_attn.lora_A.weight", 3, "attn", "c_attn", .loraA),
    ("base_model.model.transformer.h.0.attn.c_proj.lora_B.default.weight", 0, "attn", "c_proj", .loraB),
    ("base_model.model.transformer.h.39.mlp.c_proj.ia3_l", 39, "mlp", "c_proj", .ia3),
    ("base_model.model.transformer.h.1.mlp.c_fc.flora_A.weight", 1, "mlp", "c_fc", .floraA),
])
func tensorNamesParse(name: String, layer: Int, block: String, module: String, role: PEFTTensorName.Role) throws {
    let parsed = try #require(PEFTTensorName(parsing: name))
    let stack = name.contains(".transformer.h.") ? "transformer.h" : "model.layers"
    #expect(parsed == PEFTTensorName(layerStack: stack, layer: layer, block: block, module: module, role: role))
    if layer != Int.max, !name.contains(".default") { #expect(parsed.name == name) }
}

@Test("Other names are not PEFT adapter tensors", arguments: [
    "base_model.model.model.layers.3.self_attn.q_proj.lora_A",
    "base_model.model.model.layers.3.self_attn.q_proj.ia3_l.weight",
    "base_model.model.model.layers.3.self_attn.q_proj.lora_C.weight",
    "base_model.model.model.layers.x3.self_attn.q_proj.lora_A.weight",
    "base_model.model.model.layers..self_attn.q_proj.lora_A.weight",
    "base_model.model.model.layers.-1.self_attn.q_proj.lora_A.weight",
    "base_model.model.model.layers.3.self_attn.q_proj.lora_A.default.weight.extra",
    "base_model.model.model.layers.3.self_attn.q_proj.lora_A.other.weight",
    "base_model.model.model.layers.3.q_proj.lora_A.weight",
    "base_model.model.model.layers.٣.self_attn.q_proj.lora_A.weight",
    "model.layers.3.self_attn.q_proj.lora_A.weight",
    "base_model.model.transformer.layers.3.attn.c_attn.lora_A.weight",
    "base_model.model.transformer.h3.attn.c_attn.lora_A.weight",
])
func otherNamesAreRefused(name: String) {
    #expect(PEFTTensorName(parsing: name) == nil)
}
