// Opens a model by path — a .gguf file or a Hugging Face folder — with its tokenizer.

import FloraAdapters
import FloraFormats
import FloraTensor
import FloraTokenizer
import Foundation

/// The configuration of a model of one of Flora's architectures.
public enum ModelConfig: Sendable, Equatable, TransformerShape {
    case llama(LlamaConfig)
    case gptBigCode(GPTBigCodeConfig)

    public var dimensions: ModelDimensions {
        switch self {
        case .llama(let c): c.dimensions
        case .gptBigCode(let c): c.dimensions
        }
    }

    /// The shapes of the linear layers adapters may target.
    public func adapterShapes() throws -> AdapterTargetShapes {
        switch self {
        case .llama(let c): try c.adapterShapes()
        case .gptBigCode(let c): try c.adapterShapes()
        }
    }

    /// Builds the model from `weights`.
    func model(weights: some WeightSource) throws -> any CausalLanguageModel {
        switch self {
        case .llama(let c): try LlamaModel(config: c, weights: weights)
        case .gptBigCode(let c): try GPTBigCodeModel(config: c, weights: weights)
        }
    }
}

/// A model opened from disk: its weights, configuration and tokenizer.
public struct LoadedModel: Sendable {
    /// nil when only the tokenizer was asked for.
    public let model: (any CausalLanguageModel)?
    public let config: ModelConfig
    public let tokenizer: Tokenizer
    /// The name clients use for the base model: the file or folder name without extension.
    public let name: String
    public let path: String

    /// The weights; throws, naming the file, when they were not loaded (`loadWeights: false`).
    public func requireModel() throws -> any CausalLanguageModel {
        guard let model else { throw ModelError.invalidConfig(source: path, detail: "the model was opened without its weights") }
        return model
    }
}

public enum ModelLoader {
    /// Opens the model at `path`: a GGUF file (v2/v3; F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q2_K … Q6_K tensors)
    /// or a Hugging Face folder (`config.json`, `*.safetensors`, `tokenizer.json`) of the Llama
    /// family (llama, mistral, qwen2) or GPTBigCode (StarCoder; `starcoder` in GGUF), with the
    /// tokenizer it describes. Q8_0, Q4_1 and K-quant linear weights stay quantized. With
    /// `loadWeights: false` only the configuration and the tokenizer are read (`model` is nil).
    /// `products` says how products with Q8_0 and Q4_1 weights compute (QuantizedProducts).
    /// Throws `ModelError` or a format error that names the file and what is wrong in it.
    public static func load(path: String, loadWeights: Bool = true, products: QuantizedProducts = .processDefault) throws -> LoadedModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelError.invalidConfig(source: path, detail: "no such file or folder")
        }
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        if isDirectory.boolValue {
            let folder = try HFModelFolder(path: path)
            let config: ModelConfig = folder.config.modelType == "gpt_bigcode"
                ? .gptBigCode(try GPTBigCodeConfig(hf: folder.config, source: folder.configPath))
                : .llama(try LlamaConfig(hf: folder.config, source: folder.configPath))
            guard let tokenizerPath = folder.tokenizerPath else {
                throw ModelError.invalidConfig(source: path, detail: "the folder has no tokenizer.json")
            }
            // Byte-level BPE or a SentencePiece vocabulary (BPE with byte fallback, Unigram), as
            // the file's model and components say.
            let tokenizer = try Tokenizer(
                tokenizerJSON: try Data(contentsOf: URL(fileURLWithPath: tokenizerPath)),
                tokenizerConfigJSON: try folder.tokenizerConfigPath.map { try Data(contentsOf: URL(fileURLWithPath: $0)) },
                source: tokenizerPath)
            let model = loadWeights ? try config.model(weights: HFWeightSource(folder: folder)) : nil
            return LoadedModel(model: model, config: config, tokenizer: tokenizer, name: name, path: path)
        }
        let file = try GGUFFile(path: path)
        let config: ModelConfig
        let weights: GGUFWeightSource
        if try file.string("general.architecture") == "starcoder" {
            config = .gptBigCode(try GPTBigCodeConfig(gguf: file))
            weights = GGUFWeightSource(starcoder: file, products: products)
        } else {
            let llama = try LlamaConfig(gguf: file)
            config = .llama(llama)
            weights = try GGUFWeightSource(file: file, config: llama, products: products)
        }
        let tokenizer = try Tokenizer.gguf(file)
        let model = loadWeights ? try config.model(weights: weights) : nil
        return LoadedModel(model: model, config: config, tokenizer: tokenizer, name: name, path: path)
    }
}

extension Tokenizer {
    /// The tokenizer a GGUF file describes in its `tokenizer.*` metadata: byte-level BPE for
    /// `tokenizer.ggml.model = "gpt2"`, SentencePiece BPE for "llama".
    public static func gguf(_ file: GGUFFile) throws -> Tokenizer {
        try Tokenizer(gguf: GGUFTokenizerMetadata(
            source: file.path,
            model: try file.string("tokenizer.ggml.model"),
            pre: try file.optionalString("tokenizer.ggml.pre"),
            tokens: try file.stringArray("tokenizer.ggml.tokens"),
            scores: try file.optionalFloatArray("tokenizer.ggml.scores"),
            tokenTypes: try file.optionalIntArray("tokenizer.ggml.token_type"),
            merges: try file.optionalStringArray("tokenizer.ggml.merges"),
            bosTokenId: try file.optionalInt("tokenizer.ggml.bos_token_id"),
            eosTokenId: try file.optionalInt("tokenizer.ggml.eos_token_id"),
            paddingTokenId: try file.optionalInt("tokenizer.ggml.padding_token_id"),
            unknownTokenId: try file.optionalInt("tokenizer.ggml.unknown_token_id"),
            eotTokenId: try file.optionalInt("tokenizer.ggml.eot_token_id"),
            eomTokenId: try file.optionalInt("tokenizer.ggml.eom_token_id"),
            addBOSToken: try file.optionalBool("tokenizer.ggml.add_bos_token"),
            addEOSToken: try file.optionalBool("tokenizer.ggml.add_eos_token"),
            addSpacePrefix: try file.optionalBool("tokenizer.ggml.add_space_prefix"),
            chatTemplate: try file.optionalString("tokenizer.chat_template")))
    }
}
