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

/// Seeded random weights of the right shapes for a Llama or a GPTBigCode configuration, for tests
/// and benchmarks on tiny models. Linear weights are N(0, 1/d_in) so activations keep unit scale
/// through many layers; norm weights are near 1, biases near 0.
public struct RandomWeightSource: WeightSource {
    public let seed: UInt64
    /// The shape of every tensor the model has, by Hugging Face name.
    private let shapes: [String: [Int]]
    public var sourceName: String { "random weights (seed \(seed))" }

    public init(config: LlamaConfig, seed: UInt64) {
        let c = config
        var shapes = [LlamaTensorName.embedding: [c.vocabularySize, c.hiddenSize], LlamaTensorName.finalNorm: [c.hiddenSize]]
        if !c.tieWordEmbeddings { shapes[LlamaTensorName.lmHead] = [c.vocabularySize, c.hiddenSize] }
        for i in 0..<c.layerCount {
            var layer = [
                "input_layernorm.weight": [c.hiddenSize], "post_attention_layernorm.weight": [c.hiddenSize],
                "self_attn.q_proj.weight": [c.queryDim, c.hiddenSize], "self_attn.k_proj.weight": [c.kvDim, c.hiddenSize],
                "self_attn.v_proj.weight": [c.kvDim, c.hiddenSize], "self_attn.o_proj.weight": [c.hiddenSize, c.queryDim],
                "mlp.gate_proj.weight": [c.intermediateSize, c.hiddenSize], "mlp.up_proj.weight": [c.intermediateSize, c.hiddenSize],
                "mlp.down_proj.weight": [c.hiddenSize, c.intermediateSize],
            ]
            if c.attentionBias {
                layer["self_attn.q_proj.bias"] = [c.queryDim]
                layer["self_attn.k_proj.bias"] = [c.kvDim]
                layer["self_attn.v_proj.bias"] = [c.kvDim]
            }
            for (suffix, shape) in layer { shapes[LlamaTensorName.layer(i, suffix)] = shape }
        }
        self.init(shapes: shapes, seed: seed)
    }

    public init(config: GPTBigCodeConfig, seed: UInt64) {
        let c = config
        typealias Name = GPTBigCodeTensorName
        var shapes = [
            Name.tokenEmbedding: [c.vocabularySize, c.hiddenSize], Name.positionEmbedding: [c.contextLength, c.hiddenSize],
            Name.finalNorm + ".weight": [c.hiddenSize], Name.finalNorm + ".bias": [c.hiddenSize],
        ]
        if !c.tieWordEmbeddings { shapes[Name.lmHead] = [c.vocabularySize, c.hiddenSize] }
        for i in 0..<c.layerCount {
            let linears = [("attn.c_attn", c.fusedQKVWidth, c.hiddenSize), ("attn.c_proj", c.hiddenSize, c.hiddenSize),
                           ("mlp.c_fc", c.innerSize, c.hiddenSize), ("mlp.c_proj", c.hiddenSize, c.innerSize)]
            for (module, outputs, inputs) in linears {
                shapes[Name.layer(i, module + ".weight")] = [outputs, inputs]
                shapes[Name.layer(i, module + ".bias")] = [outputs]
            }
            for norm in ["ln_1", "ln_2"] {
                shapes[Name.layer(i, norm + ".weight")] = [c.hiddenSize]
                shapes[Name.layer(i, norm + ".bias")] = [c.hiddenSize]
            }
        }
        self.init(shapes: shapes, seed: seed)
    }

    private init(shapes: [String: [Int]], seed: UInt64) {
        self.shapes = shapes
        self.seed = seed
    }

    public func contains(_ name: String) -> Bool { shapes[name] != nil }

    public func tensor(_ name: String) throws -> Tensor {
        guard let shape = shapes[name] else { throw ModelError.missingTensor(source: sourceName, name: name) }
        var generator = SeededGenerator(seed: seed &+ UInt64(truncatingIfNeeded: FNV1a.hash(name)))
        let t = Tensor(zeros: shape)
        // Llama's `…norm.weight`, GPTBigCode's `ln_1.weight`, `ln_2.weight`, `ln_f.weight`.
        let isNorm = name.hasSuffix("norm.weight") || name.hasSuffix(".weight") && name.split(separator: ".").contains { $0.hasPrefix("ln_") }
        let scale = shape.count == 2 ? 1 / Float(shape[1]).squareRoot() : 0.1
        for i in 0..<t.count {
            t.pointer[i] = isNorm ? 1 + 0.1 * generator.nextGaussian() : scale * generator.nextGaussian()
        }
        return t
    }
}
