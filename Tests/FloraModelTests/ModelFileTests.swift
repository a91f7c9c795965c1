// The same tiny model written as a GGUF file (q and k permuted as llama.cpp's converter does)
// and as a Hugging Face folder loads, through ModelLoader, to the same logits as its weights.

import FloraFormats
import FloraModel
import FloraTensor
import FloraTestSupport
import FloraTokenizer
import Foundation
import Testing

@Suite struct ModelFileTests {
    let config = TinyModels.config
    let source = RandomWeightSource(config: TinyModels.config, seed: 21)

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

    func ggufName(_ name: String) -> String {
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

    var tensorNames: [String] {
        ["model.embed_tokens.weight", "model.norm.weight"] + (0..<config.layerCount).flatMap { i in
            ["input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight",
             "self_attn.o_proj.weight", "post_attention_layernorm.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight",
             "mlp.down_proj.weight"].map { "model.layers.\(i).\($0)" }
        }
    }

    var vocabulary: [String] { (0..<256).map { String(ByteLevel.characters[$0]) } + ["<|im_end|>"] }

    func writeGGUF(to path: String) throws {
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
        for name in tensorNames {
            var t = try source.tensor(name)
            if name.hasSuffix("q_proj.weight") { t = Self.permuteRows(t, heads: config.headCount) }
            if name.hasSuffix("k_proj.weight") { t = Self.permuteRows(t, heads: config.kvHeadCount) }
            try writer.addTensor(ggufName(name), t, type: name.hasSuffix("norm.weight") ? .f32 : .f16)
        }
        try writer.write(to: path)
    }

    func writeHFFolder(to path: String) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let configJSON: [String: Any] = [
            "model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": config.hiddenSize,
            "intermediate_size": config.intermediateSize, "num_hidden_layers": config.layerCount,
            "num_attention_heads": config.headCount, "num_key_value_heads": config.kvHeadCount,
            "rms_norm_eps": config.rmsNormEpsilon, "rope_theta": config.ropeTheta, "vocab_size": config.vocabularySize,
            "max_position_embeddings": config.contextLength, "tie_word_embeddings": true, "hidden_act": "silu",
        ]
        try JSONSerialization.data(withJSONObject: configJSON).write(to: URL(fileURLWithPath: path + "/config.json"))
        // The same rounding as the GGUF's F16 tensors, so that both files hold identical values.
        let tensors = try tensorNames.map { name in
            let t = try source.tensor(name)
            if !name.hasSuffix("norm.weight") {
                for i in 0..<t.count { t.pointer[i] = Float(Float16(t.pointer[i])) }
            }
            return (name: name, tensor: t)
        }
        try SafetensorsWriter.write(tensors: tensors, to: path + "/model.safetensors")
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

    func logits(_ model: LlamaModel, _ prompt: [Int32]) throws -> [Float] {
        let cache = PagedKVCache(config: model.config, blockCount: 4)
        var batch = Batch()
        batch.append(sequenceTokens: prompt, startPosition: 0, blockTable: [0, 1, 2, 3])
        return Array(try model.forward(batch, cache: cache, scratch: ForwardScratch(config: model.config)))
    }

    @Test func aGGUFFileWithPermutedQueryAndKeyAndAHuggingFaceFolderGiveTheSameLogits() throws {
        let directory = try TestFiles.scratchDirectory()
        try writeGGUF(to: directory + "/tiny.gguf")
        try writeHFFolder(to: directory + "/tiny-hf")
        let gguf = try ModelLoader.load(path: directory + "/tiny.gguf")
        let hf = try ModelLoader.load(path: directory + "/tiny-hf")
        #expect(gguf.config == hf.config)
        #expect(gguf.name == "tiny" && hf.name == "tiny-hf")
        let prompt = gguf.tokenizer.encode("Hello, world! 123").map(Int32.init)
        #expect(prompt == hf.tokenizer.encode("Hello, world! 123").map(Int32.init))
        #expect(gguf.tokenizer.stopTokenIds.contains(256) && hf.tokenizer.stopTokenIds.contains(256))
        let a = try logits(try #require(gguf.model), prompt)
        let b = try logits(try #require(hf.model), prompt)
        #expect(maxRelativeError(a, b) < 1e-5)
    }

    @Test func aFolderWithoutWeightsOrAFileThatIsNotAModelIsRefusedByName() throws {
        let directory = try TestFiles.scratchDirectory()
        try writeHFFolder(to: directory + "/broken")
        try FileManager.default.removeItem(atPath: directory + "/broken/model.safetensors")
        #expect { try ModelLoader.load(path: directory + "/broken") } throws: { "\($0)".contains("broken") }
        try Data("not a gguf".utf8).write(to: URL(fileURLWithPath: directory + "/junk.gguf"))
        #expect { try ModelLoader.load(path: directory + "/junk.gguf") } throws: { "\($0)".contains("junk.gguf") }
        #expect { try ModelLoader.load(path: directory + "/missing.gguf") } throws: { "\($0)".contains("missing.gguf") }
    }
}
