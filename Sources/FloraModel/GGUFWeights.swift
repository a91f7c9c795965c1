// Llama-family models from GGUF files: the config from `<arch>.*` metadata, the tensors under
// their Hugging Face names. llama.cpp's converter permutes the rows of Llama's q and k weights
// for its interleaved rotary pairs; Flora keeps Hugging Face's `rotate_half` convention, so
// those rows are put back here (DESIGN.md section 1) and PEFT adapters apply unchanged.

import FloraFormats
import FloraTensor

extension LlamaConfig {
    /// Reads the hyper-parameters of a `llama` or `qwen2` GGUF file.
    public init(gguf file: GGUFFile) throws {
        let arch = try file.string("general.architecture")
        guard ["llama", "qwen2", "mistral"].contains(arch) else {
            throw ModelError.unsupportedArchitecture(source: file.path, found: arch)
        }
        let heads = try file.int("\(arch).attention.head_count")
        let hidden = try file.int("\(arch).embedding_length")
        let vocabulary = try file.optionalInt("\(arch).vocab_size")
            ?? file.tensorInfo("token_embd.weight").shape.first ?? 0
        self.init(
            hiddenSize: hidden,
            intermediateSize: try file.int("\(arch).feed_forward_length"),
            layerCount: try file.int("\(arch).block_count"),
            headCount: heads,
            kvHeadCount: try file.optionalInt("\(arch).attention.head_count_kv") ?? heads,
            headDim: try file.optionalInt("\(arch).attention.key_length") ?? (heads > 0 ? hidden / heads : 0),
            vocabularySize: vocabulary,
            rmsNormEpsilon: try file.float("\(arch).attention.layer_norm_rms_epsilon"),
            ropeTheta: try file.optionalFloat("\(arch).rope.freq_base") ?? 10_000,
            contextLength: try file.optionalInt("\(arch).context_length") ?? 2048,
            tieWordEmbeddings: file.tensorInfos["output.weight"] == nil,
            attentionBias: file.tensorInfos["blk.0.attn_q.bias"] != nil,
            ropeScaling: file.tensorInfos["rope_freqs.weight"] != nil ? .divisors(try file.tensor("rope_freqs.weight").toArray()) : .none
        )
        try validate(source: file.path)
    }
}

/// The tensors of a GGUF file under Hugging Face names and layout.
public struct GGUFWeightSource: WeightSource {
    public let file: GGUFFile
    /// Hugging Face name → GGUF name, by the file's architecture.
    let naming: @Sendable (String) -> String?
    /// The heads whose rows llama.cpp's converter permuted in the tensor of this Hugging Face
    /// name (Llama's q and k weights and biases), 0 when it left the rows alone.
    let permutedHeads: @Sendable (String) -> Int
    /// Q8_0, Q4_1 and K-quant linear weights (and the token embeddings) stay quantized in the
    /// packed panels (GGUFQuantizedWeights.swift); off, they are dequantized to fp32 at load time.
    public var keepsQuantizedWeights: Bool
    /// How products with the quantized weights compute (exact fp32, or int8 activations).
    public var products: QuantizedProducts

    /// A Llama-family file (`llama`, `mistral`, `qwen2`).
    public init(
        file: GGUFFile, config: LlamaConfig, keepsQuantizedWeights: Bool = GGUFWeightSource.keepsQuantizedWeightsByDefault,
        products: QuantizedProducts = .processDefault
    ) throws {
        // Only llama.cpp's `llama` converter permutes q and k (Qwen2 uses NeoX rotary as is).
        let permutes = try file.string("general.architecture") != "qwen2"
        let (queryHeads, keyHeads) = (config.headCount, config.kvHeadCount)
        self.init(file: file, naming: Self.llamaName, keepsQuantizedWeights: keepsQuantizedWeights, products: products) { name in
            guard permutes else { return 0 }
            if name.hasSuffix("self_attn.q_proj.weight") || name.hasSuffix("self_attn.q_proj.bias") { return queryHeads }
            if name.hasSuffix("self_attn.k_proj.weight") || name.hasSuffix("self_attn.k_proj.bias") { return keyHeads }
            return 0
        }
    }

    /// A file of any architecture: `naming` maps Hugging Face names to the file's, `permutedHeads`
    /// says which tensors' rows were permuted for llama.cpp's rotary (none by default).
    public init(
        file: GGUFFile, naming: @escaping @Sendable (String) -> String?,
        keepsQuantizedWeights: Bool = GGUFWeightSource.keepsQuantizedWeightsByDefault,
        products: QuantizedProducts = .processDefault,
        permutedHeads: @escaping @Sendable (String) -> Int = { _ in 0 }
    ) {
        self.file = file
        self.naming = naming
        self.permutedHeads = permutedHeads
        self.keepsQuantizedWeights = keepsQuantizedWeights
        self.products = products
    }

    public var sourceName: String { file.path }

    public func contains(_ name: String) -> Bool {
        naming(name).map { file.tensorInfos[$0] != nil } ?? false
    }

    public func tensor(_ name: String) throws -> Tensor {
        guard let ggufName = naming(name) else { throw ModelError.missingTensor(source: sourceName, name: name) }
        let t = try file.tensor(ggufName)
        let heads = permutedHeads(name)
        return heads > 0 ? Self.unpermuteRows(t, heads: heads) : t
    }

    /// Undoes llama.cpp's `permute`: within each head, GGUF row `2i + j` holds Hugging Face row
    /// `j · headDim/2 + i` (i < headDim/2, j ∈ {0, 1}).
    static func unpermuteRows(_ t: Tensor, heads: Int) -> Tensor {
        let rows = t.shape[0]
        let width = t.shape.count == 2 ? t.shape[1] : 1
        let headDim = rows / heads
        let half = headDim / 2
        let out = Tensor(zeros: t.shape)
        for h in 0..<heads {
            for i in 0..<half {
                for j in 0..<2 {
                    let from = h * headDim + 2 * i + j
                    let to = h * headDim + j * half + i
                    (out.pointer + to * width).update(from: t.pointer + from * width, count: width)
                }
            }
        }
        return out
    }

    /// Hugging Face name → GGUF name in a Llama-family file.
    @Sendable static func llamaName(_ name: String) -> String? {
        switch name {
        case LlamaTensorName.embedding: return "token_embd.weight"
        case LlamaTensorName.finalNorm: return "output_norm.weight"
        case LlamaTensorName.lmHead: return "output.weight"
        default: break
        }
        let parts = name.split(separator: ".", maxSplits: 3)
        guard parts.count == 4, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]) else { return nil }
        let table: [String: String] = [
            "input_layernorm.weight": "attn_norm.weight",
            "self_attn.q_proj.weight": "attn_q.weight", "self_attn.q_proj.bias": "attn_q.bias",
            "self_attn.k_proj.weight": "attn_k.weight", "self_attn.k_proj.bias": "attn_k.bias",
            "self_attn.v_proj.weight": "attn_v.weight", "self_attn.v_proj.bias": "attn_v.bias",
            "self_attn.o_proj.weight": "attn_output.weight",
            "post_attention_layernorm.weight": "ffn_norm.weight",
            "mlp.gate_proj.weight": "ffn_gate.weight",
            "mlp.up_proj.weight": "ffn_up.weight",
            "mlp.down_proj.weight": "ffn_down.weight",
        ]
        return table[String(parts[3])].map { "blk.\(layer).\($0)" }
    }
}
