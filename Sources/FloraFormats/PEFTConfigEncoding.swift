// Writing adapter_config.json with the field names of PEFT's LoraConfig and IA3Config (so that
// `PeftModel.from_pretrained` loads Flora's LoRA and IA3 adapters), and Flora's FLORA config in
// the layout of DESIGN.md section 2.

import Foundation

extension PEFTConfig: Encodable {
    private struct Key: CodingKey {
        let stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        func selector(_ value: ModuleSelector, _ key: String) throws {
            switch value {
            case .names(let names): try c.encode(names, forKey: Key(key))
            case .pattern(let pattern): try c.encode(pattern, forKey: Key(key))
            }
        }
        try c.encode(peftType.rawValue, forKey: Key("peft_type"))
        try c.encodeIfPresent(taskType, forKey: Key("task_type"))
        try c.encodeIfPresent(baseModelNameOrPath, forKey: Key("base_model_name_or_path"))
        try selector(targetModules, "target_modules")
        if let excludeModules { try selector(excludeModules, "exclude_modules") }
        try c.encodeIfPresent(layersToTransform, forKey: Key("layers_to_transform"))
        switch peftType {
        case .lora:
            try c.encode(r, forKey: Key("r"))
            try c.encode(loraAlpha, forKey: Key("lora_alpha"))
            try c.encode(0.0, forKey: Key("lora_dropout"))
            try c.encode("none", forKey: Key("bias"))
            try c.encode(false, forKey: Key("fan_in_fan_out"))
            try c.encode(useRSLoRA, forKey: Key("use_rslora"))
            try c.encode(useDoRA, forKey: Key("use_dora"))
            try c.encode(rankPattern, forKey: Key("rank_pattern"))
            try c.encode(alphaPattern, forKey: Key("alpha_pattern"))
            try c.encode(true, forKey: Key("init_lora_weights"))
            try c.encode(true, forKey: Key("inference_mode"))
            try c.encodeNil(forKey: Key("modules_to_save"))
        case .ia3:
            if let feedforwardModules { try selector(feedforwardModules, "feedforward_modules") }
            try c.encode(false, forKey: Key("fan_in_fan_out"))
            try c.encode(true, forKey: Key("init_ia3_weights"))
            try c.encode(true, forKey: Key("inference_mode"))
            try c.encodeNil(forKey: Key("modules_to_save"))
        case .road:
            try c.encode(roadVariant.rawValue, forKey: Key("variant"))
            try c.encode(groupSize, forKey: Key("group_size"))
            try c.encode(true, forKey: Key("init_weights"))
            try c.encode(true, forKey: Key("inference_mode"))
            try c.encodeNil(forKey: Key("modules_to_save"))
        case .flora:
            try c.encode(r, forKey: Key("r"))
            if !rankPattern.isEmpty { try c.encode(rankPattern, forKey: Key("rank_pattern")) }
            try c.encode("mean", forKey: Key("reduction"))
            try c.encode("y = mean_j B[:, j] * (W @ (A[j, :] * x))  ==  (W o (B @ A) / r) x", forKey: Key("formula"))
        }
    }

    /// The config as `adapter_config.json` text: pretty-printed, keys sorted.
    public func jsonData() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
