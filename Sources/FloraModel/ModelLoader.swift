// Opens a model by path — a .gguf file or a Hugging Face folder — with its tokenizer.

import FloraFormats
import FloraTokenizer
import Foundation

/// A model opened from disk: its weights, configuration and tokenizer.
public struct LoadedModel: Sendable {
    /// nil when only the tokenizer was asked for.
    public let model: LlamaModel?
    public let config: LlamaConfig
    public let tokenizer: Tokenizer
    /// The name clients use for the base model: the file or folder name without extension.
    public let name: String
    public let path: String

    /// The weights; throws, naming the file, when they were not loaded (`loadWeights: false`).
    public func requireModel() throws -> LlamaModel {
        guard let model else { throw ModelError.invalidConfig(source: path, detail: "the model was opened without its weights") }
        return model
    }
}

public enum ModelLoader {
    /// Opens the model at `path`: a GGUF file (v2/v3; F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q2_K … Q6_K tensors)
    /// or a Hugging Face folder (`config.json`, `*.safetensors`, `tokenizer.json`) of the Llama
    /// family, with the tokenizer it describes. Q8_0, Q4_1 and K-quant linear weights stay quantized. With
    /// `loadWeights: false` only the configuration and the tokenizer are read (`model` is nil).
    /// Throws `ModelError` or a format error that names the file and what is wrong in it.
    public static func load(path: String, loadWeights: Bool = true) throws -> LoadedModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ModelError.invalidConfig(source: path, detail: "no such file or folder")
        }
        let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
        if isDirectory.boolValue {
            let folder = try HFModelFolder(path: path)
            let config = try LlamaConfig(hf: folder.config, source: folder.configPath)
            guard let tokenizerPath = folder.tokenizerPath else {
                throw ModelError.invalidConfig(source: path, detail: "the folder has no tokenizer.json")
            }
            // Byte-level BPE or a SentencePiece vocabulary (BPE with byte fallback, Unigram), as
            // the file's model and components say.
            let tokenizer = try Tokenizer(
                tokenizerJSON: try Data(contentsOf: URL(fileURLWithPath: tokenizerPath)),
                tokenizerConfigJSON: try folder.tokenizerConfigPath.map { try Data(contentsOf: URL(fileURLWithPath: $0)) },
                source: tokenizerPath)
            let model = loadWeights ? try LlamaModel(config: config, weights: HFWeightSource(folder: folder)) : nil
            return LoadedModel(model: model, config: config, tokenizer: tokenizer, name: name, path: path)
        }
        let file = try GGUFFile(path: path)
        let config = try LlamaConfig(gguf: file)
        let tokenizer = try Tokenizer.gguf(file)
        let model = loadWeights ? try LlamaModel(config: config, weights: GGUFWeightSource(file: file, config: config)) : nil
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
