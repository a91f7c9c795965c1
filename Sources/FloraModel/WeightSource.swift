// One path for weights (STYLE.md habit 5): the model asks for tensors by their Hugging Face
// names in Hugging Face's layout, whether they come from GGUF, safetensors or random init.

import FloraTensor

public protocol WeightSource {
    /// A name for error messages: the file or folder, or "random weights".
    var sourceName: String { get }
    /// The tensor, fp32, row-major, Hugging Face layout (`[d_out, d_in]` for linear layers).
    func tensor(_ name: String) throws -> Tensor
    func contains(_ name: String) -> Bool
    /// The linear weight `name` already packed (e.g. kept in its quantized blocks), or nil to
    /// have the model pack `tensor(name)`.
    func packedLinear(_ name: String) throws -> PackedMatrix?
}

extension WeightSource {
    public func packedLinear(_ name: String) throws -> PackedMatrix? { nil }

    /// The tensor `name`, refused unless present with `shape`.
    func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        guard contains(name) else { throw ModelError.missingTensor(source: sourceName, name: name) }
        let t = try tensor(name)
        guard t.shape == shape else { throw ModelError.wrongShape(source: sourceName, name: name, expected: shape, found: t.shape) }
        return t
    }

    /// The linear weight `name`, `[outputs, inputs]`, packed for the kernels: kept in its quantized
    /// blocks when the source offers them, else packed from fp32 (`unpacked` when already read).
    func linear(_ name: String, outputs: Int, inputs: Int, unpacked: Tensor? = nil) throws -> PackedMatrix {
        guard let packed = try packedLinear(name) else { return PackedMatrix(try unpacked ?? tensor(name, shape: [outputs, inputs])) }
        guard packed.outputs == outputs, packed.inputs == inputs else {
            throw ModelError.wrongShape(source: sourceName, name: name, expected: [outputs, inputs], found: [packed.outputs, packed.inputs])
        }
        return packed
    }

    /// The bias `name` of `count` outputs when the layers have biases, else nil.
    func bias(_ name: String, _ count: Int, present: Bool) throws -> Tensor? {
        present ? try tensor(name, shape: [count]) : nil
    }
}

/// Hugging Face names of a Llama layer's tensors.
enum LlamaTensorName {
    static let embedding = "model.embed_tokens.weight"
    static let finalNorm = "model.norm.weight"
    static let lmHead = "lm_head.weight"
    static func layer(_ i: Int, _ suffix: String) -> String { "model.layers.\(i).\(suffix)" }
}

/// Seeded random weights of the right shapes, for tests and benchmarks on tiny models.
/// Linear weights are N(0, 1/d_in) so activations keep unit scale through many layers.
public struct RandomWeightSource: WeightSource {
    public let config: LlamaConfig
    public let seed: UInt64
    public var sourceName: String { "random weights (seed \(seed))" }

    public init(config: LlamaConfig, seed: UInt64) {
        self.config = config
        self.seed = seed
    }

    public func contains(_ name: String) -> Bool {
        guard let shape = shape(of: name) else { return false }
        return !shape.isEmpty
    }

    public func tensor(_ name: String) throws -> Tensor {
        guard let shape = shape(of: name) else { throw ModelError.missingTensor(source: sourceName, name: name) }
        var generator = SeededGenerator(seed: seed &+ UInt64(truncatingIfNeeded: FNV1a.hash(name)))
        let t = Tensor(zeros: shape)
        let isNorm = name.hasSuffix("norm.weight")
        let scale = shape.count == 2 ? 1 / Float(shape[1]).squareRoot() : 0.1
        for i in 0..<t.count {
            t.pointer[i] = isNorm ? 1 + 0.1 * generator.nextGaussian() : scale * generator.nextGaussian()
        }
        return t
    }

    private func shape(of name: String) -> [Int]? {
        let c = config
        switch name {
        case LlamaTensorName.embedding: return [c.vocabularySize, c.hiddenSize]
        case LlamaTensorName.finalNorm: return [c.hiddenSize]
        case LlamaTensorName.lmHead: return c.tieWordEmbeddings ? nil : [c.vocabularySize, c.hiddenSize]
        default: break
        }
        let parts = name.split(separator: ".")
        guard parts.count >= 4, parts[0] == "model", parts[1] == "layers", let layer = Int(parts[2]), layer < c.layerCount else { return nil }
        switch parts[3...].joined(separator: ".") {
        case "input_layernorm.weight", "post_attention_layernorm.weight": return [c.hiddenSize]
        case "self_attn.q_proj.weight": return [c.queryDim, c.hiddenSize]
        case "self_attn.k_proj.weight", "self_attn.v_proj.weight": return [c.kvDim, c.hiddenSize]
        case "self_attn.o_proj.weight": return [c.hiddenSize, c.queryDim]
        case "self_attn.q_proj.bias": return c.attentionBias ? [c.queryDim] : nil
        case "self_attn.k_proj.bias", "self_attn.v_proj.bias": return c.attentionBias ? [c.kvDim] : nil
        case "mlp.gate_proj.weight", "mlp.up_proj.weight": return [c.intermediateSize, c.hiddenSize]
        case "mlp.down_proj.weight": return [c.hiddenSize, c.intermediateSize]
        default: return nil
        }
    }
}
