// Llama-family models from Hugging Face folders: config.json and safetensors, already in the
// layout Flora keeps.

import FloraFormats
import FloraTensor

extension LlamaConfig {
    public init(hf config: HFConfig, source: String) throws {
        guard ["llama", "qwen2", "mistral"].contains(config.modelType) else {
            throw ModelError.unsupportedArchitecture(source: source, found: config.modelType)
        }
        guard config.hiddenAct == "silu" else {
            throw ModelError.invalidConfig(source: source, detail: "hidden_act '\(config.hiddenAct)' is not supported (only silu)")
        }
        if config.mlpBias == true {
            throw ModelError.invalidConfig(source: source, detail: "mlp_bias true is not supported")
        }
        let scaling: RopeScaling
        switch config.ropeScaling.map({ ($0.ropeType ?? "default", $0) }) {
        case nil, ("default", _)?:
            scaling = .none
        case ("linear", let s)?:
            scaling = .linear(factor: s.factor ?? 1)
        case ("llama3", let s)?:
            scaling = .llama3(
                factor: s.factor ?? 8, lowFrequencyFactor: s.lowFreqFactor ?? 1, highFrequencyFactor: s.highFreqFactor ?? 4,
                originalContextLength: s.originalMaxPositionEmbeddings ?? 8192)
        case (let other, _)?:
            throw ModelError.invalidConfig(source: source, detail: "rope_scaling type '\(other)' is not supported (default, linear, llama3)")
        }
        // Sliding-window attention (Mistral 7B v0.1's 4096 tokens; Qwen2 with use_sliding_window) is
        // not implemented. Within the window it is full attention, so the context stops at the window:
        // longer sequences are refused rather than attended differently from transformers.
        var contextLength = config.maxPositionEmbeddings
        let windowed = config.modelType == "mistral" || (config.modelType == "qwen2" && config.useSlidingWindow == true)
        if windowed, let window = config.slidingWindow, window > 0 {
            contextLength = min(contextLength, window)
        }
        self.init(
            hiddenSize: config.hiddenSize, intermediateSize: config.intermediateSize, layerCount: config.numHiddenLayers,
            headCount: config.numAttentionHeads, kvHeadCount: config.numKeyValueHeads, headDim: config.headDim,
            vocabularySize: config.vocabSize, rmsNormEpsilon: config.rmsNormEps, ropeTheta: config.ropeTheta,
            contextLength: contextLength, tieWordEmbeddings: config.tieWordEmbeddings,
            attentionBias: config.attentionBias ?? (config.modelType == "qwen2"), ropeScaling: scaling)
        try validate(source: source)
    }
}

/// The tensors of a Hugging Face folder (names and layout are Flora's own).
public struct HFWeightSource: WeightSource {
    public let folder: HFModelFolder
    public init(folder: HFModelFolder) { self.folder = folder }
    public var sourceName: String { folder.path }
    public func contains(_ name: String) -> Bool { (try? folder.info(name)) != nil }
    public func tensor(_ name: String) throws -> Tensor { try folder.tensor(name) }

    /// A linear weight packed straight from the mapped file, converted panel by panel: loading a
    /// bf16 or f16 checkpoint never holds a whole fp32 copy of a tensor beside its packed panels
    /// (StarCoder-1B's 400 MB embedding table would double the peak).
    public func packedLinear(_ name: String) throws -> PackedMatrix? {
        guard let info = try? folder.info(name), info.shape.count == 2, [.f32, .f16, .bf16].contains(info.dtype) else { return nil }
        return try PackedMatrix(outputs: info.shape[0], inputs: info.shape[1]) { firstRow, rowCount, destination in
            try folder.convertRows(of: name, firstRow ..< firstRow + rowCount, into: destination)
        }
    }
}
