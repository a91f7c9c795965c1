// The tiny random model written to disk, as a GGUF file (q and k permuted as llama.cpp's
// converter does) and as a Hugging Face folder, for tests that open models through ModelLoader.

import FloraFormats
import FloraModel
import FloraTensor
import FloraTokenizer
import Foundation

extension TinyModels {
    /// Writes the random model of `seed` as a GGUF file: norms F32, everything else F16, with
    /// the byte-level tokenizer of `tokenizer()` in its metadata.
    public static func writeGGUF(to path: String, config: LlamaConfig = config, seed: UInt64) throws {
        let source = RandomWeightSource(config: config, seed: seed)
        var writer = GGUFWriter()
        writer.set("general.architecture", .string("llama"))
        writer.set("llama.embedding_length", .uint32(UInt32(config.hiddenSize)))
        writer.set("llama.feed_forward_length", .uint32(UInt32(config.intermediateSize)))
        writer.set("llama.block_count", .uint32(UInt32(config.layerCount)))
        writer.set("llama.attention.head_count", .uint32(UInt32(config.headCount)))
        writer.set("llama.attention.head_count_kv", .uint32(UInt32(config.kvHeadCount)))
        writer.set("llama.attention.layer_norm_rms_epsilon", .float32(config.rmsNormEpsilon))
        writer.set("llama.rope.freq_base", .float32(config.ropeTheta))
        writer.set("llama.context_length", .uint32(UInt32(config.contextLength)))
        writer.set("tokenizer.ggml.model", .string("gpt2"))
        writer.set("tokenizer.ggml.pre", .string("smollm"))
        writer.set("tokenizer.ggml.tokens", GGUFValue.strings(vocabulary))
        writer.set("tokenizer.ggml.merges", GGUFValue.strings([]))
        writer.set("tokenizer.ggml.token_type", GGUFValue.int32s(Array(repeating: 1, count: 256) + [3]))
        writer.set("tokenizer.ggml.eos_token_id", .uint32(256))
        for name in tensorNames(config) {
            var t = try source.tensor(name)
            if name.hasSuffix("q_proj.weight") { t = permuteRows(t, heads: config.headCount) }
            if name.hasSuffix("k_proj.weight") { t = permuteRows(t, heads: config.kvHeadCount) }
            try writer.addTensor(ggufName(name), t, type: name.hasSuffix("norm.weight") ? .f32 : .f16)
        }
        try writer.write(to: path)
    }

    /// Writes the random model of `seed` as a Hugging Face folder holding the same values as
    /// `writeGGUF` (linear weights rounded through F16). With `dtype` F16 those weights are stored
    /// as F16 (exactly) and the norms, which are not rounded, in a second F32 file beside them.
    public static func writeHuggingFaceFolder(
        to path: String, config: LlamaConfig = config, seed: UInt64, dtype: SafetensorsDType = .f32
    ) throws {
        let source = RandomWeightSource(config: config, seed: seed)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let configJSON: [String: Any] = [
            "model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": config.hiddenSize,
            "intermediate_size": config.intermediateSize, "num_hidden_layers": config.layerCount,
            "num_attention_heads": config.headCount, "num_key_value_heads": config.kvHeadCount,
            "rms_norm_eps": config.rmsNormEpsilon, "rope_theta": config.ropeTheta, "vocab_size": config.vocabularySize,
            "max_position_embeddings": config.contextLength, "tie_word_embeddings": true, "hidden_act": "silu",
        ]
        try JSONSerialization.data(withJSONObject: configJSON).write(to: URL(fileURLWithPath: path + "/config.json"))
        let tensors = try tensorNames(config).map { name in
            let t = try source.tensor(name)
            if !name.hasSuffix("norm.weight") {
                for i in 0..<t.count { t.pointer[i] = Float(Float16(t.pointer[i])) }
            }
            return (name: name, tensor: t)
        }
        if dtype == .f32 {
            try SafetensorsWriter.write(tensors: tensors, to: path + "/model.safetensors")
        } else {
            try SafetensorsWriter.write(tensors: tensors.filter { !$0.name.hasSuffix("norm.weight") }, dtype: dtype, to: path + "/model-weights.safetensors")
            try SafetensorsWriter.write(tensors: tensors.filter { $0.name.hasSuffix("norm.weight") }, to: path + "/model-norms.safetensors")
        }
        let vocab = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, $0) })
        let tokenizer: [String: Any] = [
            "model": ["type": "BPE", "vocab": vocab, "merges": [String]()],
            "added_tokens": [["id": 256, "content": "<|im_end|>", "special": true]],
            "pre_tokenizer": ["type": "ByteLevel", "add_prefix_space": false, "use_regex": true],
            "decoder": ["type": "ByteLevel"],
        ]
        try JSONSerialization.data(withJSONObject: tokenizer).write(to: URL(fileURLWithPath: path + "/tokenizer.json"))
        try JSONSerialization.data(withJSONObject: ["eos_token": "<|im_end|>"]).write(to: URL(fileURLWithPath: path + "/tokenizer_config.json"))
    }

    /// The 256 byte tokens and `<|im_end|>`, as `tokenizer()` numbers them.
    static var vocabulary: [String] { (0..<256).map { String(ByteLevel.characters[$0]) } + ["<|im_end|>"] }

    static func tensorNames(_ config: LlamaConfig) -> [String] {
        ["model.embed_tokens.weight", "model.norm.weight"] + (0..<config.layerCount).flatMap { i in
            ["input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
             "self_attn.o_proj.weight", "post_attention_layernorm.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight",
             "mlp.down_proj.weight"].map { "model.layers.\(i).\($0)" }
        }
    }

    /// llama.cpp's `permute`: Hugging Face row `j · d/2 + i` of each head goes to GGUF row `2i + j`.
    static func permuteRows(_ t: Tensor, heads: Int) -> Tensor {
        let rows = t.shape[0], width = t.shape[1], headDim = rows / heads, half = headDim / 2
        let out = Tensor(zeros: t.shape)
        for h in 0..<heads {
            for i in 0..<half {
                for j in 0..<2 {
                    (out.pointer + (h * headDim + 2 * i + j) * width).update(from: t.pointer + (h * headDim + j * half + i) * width, count: width)
                }
            }
        }
        return out
    }

    static func ggufName(_ name: String) -> String {
        let table = [
            "model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
            "input_layernorm.weight": "attn_norm.weight", "self_attn.q_proj.weight": "attn_q.weight",
            "self_attn.k_proj.weight": "attn_k.weight", "self_attn.v_proj.weight": "attn_v.weight",
            "self_attn.o_proj.weight": "attn_output.weight", "post_attention_layernorm.weight": "ffn_norm.weight",
            "mlp.gate_proj.weight": "ffn_gate.weight", "mlp.up_proj.weight": "ffn_up.weight", "mlp.down_proj.weight": "ffn_down.weight",
        ]
        if let direct = table[name] { return direct }
        let parts = name.split(separator: ".", maxSplits: 3)
        return "blk.\(parts[2]).\(table[String(parts[3])]!)"
    }
}
