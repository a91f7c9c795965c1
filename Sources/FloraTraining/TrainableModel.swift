// The frozen models whose blocks Flora can run backward: one case per architecture, each with
// its block forward and backward in its own file (GradientEngine+Llama.swift,
// GradientEngine+GPTBigCode.swift). Everything else of the training pass is shared.

import FloraModel
import FloraTensor

enum TrainableModel {
    case llama(LlamaModel)
    case gptBigCode(GPTBigCodeModel)

    /// The model's own case; throws, naming the architecture, for one Flora serves but cannot train.
    init(_ model: any CausalLanguageModel) throws {
        if let llama = model as? LlamaModel {
            self = .llama(llama)
        } else if let gptBigCode = model as? GPTBigCodeModel {
            self = .gptBigCode(gptBigCode)
        } else {
            throw TrainingError.invalidArgument(
                "training runs on Llama-family and GPTBigCode models; this is a \(model.architecture) model, which has no backward pass in Flora")
        }
    }

    var model: any CausalLanguageModel {
        switch self {
        case .llama(let m): m
        case .gptBigCode(let m): m
        }
    }

    /// Whether the MLP is SwiGLU's gate and up (Llama) rather than one product and an activation.
    var hasGatedMLP: Bool {
        if case .llama = self { return true }
        return false
    }

    /// The scale of the attention scores `q · k`.
    var attentionScale: Float {
        switch self {
        case .llama(let m): 1 / Float(m.config.headDim).squareRoot()
        case .gptBigCode(let m): m.config.scalesAttentionWeights ? 1 / Float(m.config.headDim).squareRoot() : 1
        }
    }

    /// The token embeddings in fp32, `[vocab, hidden]` (built once for a quantized model).
    var embeddingTable: Tensor {
        switch self {
        case .llama(let m): m.embeddingWeight
        case .gptBigCode(let m): m.embeddingWeight
        }
    }

    var lmHead: PackedMatrix {
        switch self {
        case .llama(let m): m.lmHead
        case .gptBigCode(let m): m.lmHead
        }
    }

    /// Every frozen product whose input gradient the backward pass takes: each block's linear
    /// layers and the LM head.
    var frozenProducts: [PackedMatrix] {
        switch self {
        case .llama(let m):
            [m.lmHead] + m.layers.flatMap { [$0.query, $0.key, $0.value, $0.output, $0.gate, $0.up, $0.down] }
        case .gptBigCode(let m):
            [m.lmHead] + m.layers.flatMap { [$0.fusedQKV, $0.output, $0.fc, $0.projection] }
        }
    }
}

/// The architecture's own steps, called by the shared engine and head.
extension GradientEngine {
    /// Writes the first residual stream of `batch`, `[T, hidden]`, at `residual`.
    func embed(_ batch: TrainingBatch, into residual: UnsafeMutablePointer<Float>) {
        switch architecture {
        case .llama(let m): embed(m, batch, into: residual)
        case .gptBigCode(let m): embed(m, batch, into: residual)
        }
    }

    /// `output = block(input)`, both `[T, hidden]`, leaving the activations in `acts`. With
    /// `capture` the linear layers run through `TrainingLinear` (keeping what their backward
    /// needs); without, through the adapter bank, as serving runs them.
    func forwardLayer(
        _ index: Int, batch: TrainingBatch, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
        acts: LayerActivations, capture: Bool
    ) {
        switch architecture {
        case .llama(let m): forwardBlock(m, index, batch: batch, input: input, output: output, acts: acts, capture: capture)
        case .gptBigCode(let m): forwardBlock(m, index, batch: batch, input: input, output: output, acts: acts, capture: capture)
        }
    }

    /// Given `dX` = the gradient at the block's output, adds every adapter's gradient in this block
    /// and, with `needsInputGradient`, leaves in `dX` the gradient at the block's input.
    func backwardLayer(
        _ index: Int, batch: TrainingBatch, input: UnsafePointer<Float>, acts: LayerActivations, dX: UnsafeMutablePointer<Float>,
        needsInputGradient: Bool
    ) {
        switch architecture {
        case .llama(let m):
            backwardBlock(m, index, batch: batch, input: input, acts: acts, dX: dX, needsInputGradient: needsInputGradient)
        case .gptBigCode(let m):
            backwardBlock(m, index, batch: batch, input: input, acts: acts, dX: dX, needsInputGradient: needsInputGradient)
        }
    }

    /// The final norm of `rows` rows of `x` into `y` (both `[rows, hidden]`), keeping each row's
    /// statistics in `mean` (LayerNorm only) and `inverse`, `[rows]`.
    func finalNorm(
        _ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, mean: UnsafeMutablePointer<Float>,
        inverse: UnsafeMutablePointer<Float>
    ) {
        switch architecture {
        case .llama(let m): finalNorm(m, x, rows: rows, into: y, mean: mean, inverse: inverse)
        case .gptBigCode(let m): finalNorm(m, x, rows: rows, into: y, mean: mean, inverse: inverse)
        }
    }

    /// Adds the input gradient of `finalNorm` (from the statistics it kept) to `dx`.
    func finalNormBackward(
        _ dy: UnsafePointer<Float>, x: UnsafePointer<Float>, mean: UnsafePointer<Float>, inverse: UnsafePointer<Float>, rows: Int,
        addingInto dx: UnsafeMutablePointer<Float>
    ) {
        switch architecture {
        case .llama(let m): finalNormBackward(m, dy, x: x, mean: mean, inverse: inverse, rows: rows, addingInto: dx)
        case .gptBigCode(let m): finalNormBackward(m, dy, x: x, mean: mean, inverse: inverse, rows: rows, addingInto: dx)
        }
    }
}
