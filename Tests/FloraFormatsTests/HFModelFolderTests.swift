// Hugging Face folders: config.json decoding with defaults and validation, and weights found
// as one file, as indexed shards, or as loose *.safetensors files.
import FloraTestSupport
import FloraFormats
import FloraTensor
import Foundation
import Testing

@Suite struct HFModelFolderTests {
    /// SmolLM2-135M-Instruct's config.json as published.
    static let smolConfig = """
    {"architectures":["LlamaForCausalLM"],"attention_bias":false,"attention_dropout":0.0,"bos_token_id":1,"eos_token_id":2,
     "head_dim":64,"hidden_act":"silu","hidden_size":576,"initializer_range":0.041666666666666664,"intermediate_size":1536,
     "is_llama_config":true,"max_position_embeddings":8192,"mlp_bias":false,"model_type":"llama","num_attention_heads":9,
     "num_hidden_layers":30,"num_key_value_heads":3,"pad_token_id":2,"pretraining_tp":1,"rms_norm_eps":1e-05,
     "rope_interleaved":false,"rope_scaling":null,"rope_theta":100000,"tie_word_embeddings":true,"torch_dtype":"bfloat16",
     "transformers_version":"4.42.3","use_cache":true,"vocab_size":49152}
    """

    static let minimalConfig = """
    {"model_type":"qwen2","hidden_size":64,"intermediate_size":128,"num_hidden_layers":2,"num_attention_heads":4,
     "vocab_size":100,"eos_token_id":[7, 8],"dtype":"float32"}
    """

    func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func smolLM2sConfigDecodesWithEveryField() throws {
        let config = try HFConfig.decode(Data(Self.smolConfig.utf8), file: "config.json")
        #expect(config.modelType == "llama")
        #expect(config.architectures == ["LlamaForCausalLM"])
        #expect(config.hiddenSize == 576 && config.intermediateSize == 1536 && config.numHiddenLayers == 30)
        #expect(config.numAttentionHeads == 9 && config.numKeyValueHeads == 3 && config.headDimension == 64)
        #expect(config.rmsNormEps == 1e-5 && config.ropeTheta == 100_000 && config.ropeScaling == nil)
        #expect(config.vocabSize == 49152 && config.maxPositionEmbeddings == 8192 && config.tieWordEmbeddings)
        #expect(config.bosTokenId == 1 && config.eosTokenIds == [2])
        #expect(config.attentionBias == false && config.torchDtype == "bfloat16" && config.hiddenAct == "silu")
    }

    @Test func absentFieldsTakeTransformersDefaults() throws {
        let config = try HFConfig.decode(Data(Self.minimalConfig.utf8), file: "config.json")
        #expect(config.numKeyValueHeads == 4)
        #expect(config.headDim == nil && config.headDimension == 16)
        #expect(config.ropeTheta == 10000 && config.rmsNormEps == 1e-6)
        #expect(config.tieWordEmbeddings == false && config.attentionBias == nil)
        #expect(config.eosTokenIds == [7, 8] && config.bosTokenId == nil)
        #expect(config.torchDtype == "float32" && config.maxPositionEmbeddings == 2048)
    }

    /// bigcode/starcoderbase-1b's config.json (GPT-2's key names), trimmed of fields Flora ignores.
    static let starcoderConfig = """
    {"activation_function":"gelu_pytorch_tanh","architectures":["GPTBigCodeForCausalLM"],"attention_softmax_in_fp32":true,
     "bos_token_id":0,"eos_token_id":0,"inference_runner":0,"layer_norm_epsilon":1e-05,"max_batch_size":null,
     "model_type":"gpt_bigcode","multi_query":true,"n_embd":2048,"n_head":16,"n_inner":8192,"n_layer":24,
     "n_positions":8192,"scale_attn_weights":true,"torch_dtype":"float32","vocab_size":49152}
    """

    @Test func starCodersConfigDecodesUnderGPT2sNames() throws {
        let config = try HFConfig.decode(Data(Self.starcoderConfig.utf8), file: "config.json")
        #expect(config.modelType == "gpt_bigcode" && config.hiddenAct == "gelu_pytorch_tanh")
        #expect(config.hiddenSize == 2048 && config.intermediateSize == 8192 && config.numHiddenLayers == 24)
        #expect(config.numAttentionHeads == 16 && config.numKeyValueHeads == 1 && config.multiQuery == true)
        #expect(config.maxPositionEmbeddings == 8192 && config.layerNormEpsilon == 1e-5 && config.scaleAttentionWeights == true)
        // transformers ties GPTBigCode's head unless told otherwise.
        #expect(config.tieWordEmbeddings && config.eosTokenIds == [0])
        let multiHead = Self.starcoderConfig.replacingOccurrences(of: "\"multi_query\":true", with: "\"multi_query\":false")
            .replacingOccurrences(of: "\"n_inner\":8192", with: "\"n_inner\":null")
        let other = try HFConfig.decode(Data(multiHead.utf8), file: "config.json")
        #expect(other.numKeyValueHeads == 16 && other.intermediateSize == 4 * 2048)
        #expect { try HFConfig.decode(Data(Self.starcoderConfig.replacingOccurrences(of: "\"n_embd\":2048,", with: "").utf8), file: "config.json") }
            throws: { "\($0)".contains("hidden_size") && "\($0)".contains("config.json") }
    }

    @Test func anotherArchitectureIsRefusedByItsModelTypeBeforeItsFields() throws {
        let t5 = #"{"model_type": "t5", "d_model": 512, "num_layers": 6, "vocab_size": 32128}"#
        #expect { try HFConfig.decode(Data(t5.utf8), file: "t5/config.json") } throws: {
            let message = "\($0)"
            return message.contains("t5/config.json") && message.contains("model_type") && message.contains("\"t5\"")
                && message.contains("gpt_bigcode") && !message.contains("hidden_size")
        }
    }

    @Test func llama3RopeScalingIsKept() throws {
        let text = Self.minimalConfig.replacingOccurrences(of: "\"dtype\"", with: """
        "rope_scaling":{"factor":32.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":8192,"rope_type":"llama3"},"dtype"
        """)
        let scaling = try #require(try HFConfig.decode(Data(text.utf8), file: "config.json").ropeScaling)
        #expect(scaling.ropeType == "llama3" && scaling.factor == 32 && scaling.lowFreqFactor == 1)
        #expect(scaling.highFreqFactor == 4 && scaling.originalMaxPositionEmbeddings == 8192)
    }

    /// transformers 5 writes theta and scaling together as `rope_parameters`.
    @Test func transformers5RopeParametersGiveThetaAndScaling() throws {
        let text = Self.minimalConfig.replacingOccurrences(of: "\"dtype\"", with: """
        "rope_parameters":{"factor":8.0,"high_freq_factor":4.0,"low_freq_factor":1.0,"original_max_position_embeddings":32,"rope_theta":500000,"rope_type":"llama3"},"dtype"
        """)
        let config = try HFConfig.decode(Data(text.utf8), file: "config.json")
        #expect(config.ropeTheta == 500_000)
        let scaling = try #require(config.ropeScaling)
        #expect(scaling.ropeType == "llama3" && scaling.factor == 8 && scaling.originalMaxPositionEmbeddings == 32)
        let plain = Self.minimalConfig.replacingOccurrences(of: "\"dtype\"", with: #""rope_parameters":{"rope_theta":1000000.0,"rope_type":"default"},"dtype""#)
        let qwen = try HFConfig.decode(Data(plain.utf8), file: "config.json")
        #expect(qwen.ropeTheta == 1_000_000 && qwen.ropeScaling?.ropeType == "default")
    }

    @Test(arguments: [
        ("\"hidden_size\":64,", "", "hidden_size"),
        ("\"num_attention_heads\":4", "\"num_attention_heads\":4,\"num_key_value_heads\":3", "num_key_value_heads"),
        ("\"hidden_size\":64", "\"hidden_size\":66", "hidden_size"),
        ("\"num_hidden_layers\":2", "\"num_hidden_layers\":0", "num_hidden_layers"),
        ("\"num_hidden_layers\":2", "\"num_hidden_layers\":\"two\"", "num_hidden_layers"),
        ("[7, 8]", "[7, 800]", "eos_token_id"),
    ])
    func badConfigsAreRefusedNamingTheField(replace: String, with: String, field: String) {
        let text = Self.minimalConfig.replacingOccurrences(of: replace, with: with)
        let error = #expect(throws: FormatError.self) { try HFConfig.decode(Data(text.utf8), file: "m/config.json") }
        #expect(error?.item?.contains(field) == true, "\(error?.description ?? "")")
        #expect(error?.description.hasPrefix("m/config.json") == true)
    }

    func folder(weights: (String) throws -> Void) throws -> String {
        let path = try TestFiles.scratchDirectory()
        try write(Self.minimalConfig, to: path + "/config.json")
        try weights(path)
        return path
    }

    let a = Tensor(shape: [2, 3], values: [1, 2, 3, 4, 5, 6])
    let b = Tensor(shape: [4], values: [7, 8, 9, 10])

    @Test func aSingleModelFileIsFoundWithTheTokenizerFiles() throws {
        let path = try folder { path in
            try SafetensorsWriter.write(tensors: [("a", a), ("b", b)], to: path + "/model.safetensors")
            try write("{}", to: path + "/tokenizer.json")
        }
        let model = try HFModelFolder(path: path)
        #expect(model.config.modelType == "qwen2")
        #expect(model.tensorNames == ["a", "b"])
        #expect(try model.tensor("a").shape == [2, 3])
        #expect(try model.info("b").dtype == .f32)
        #expect(model.tokenizerPath == path + "/tokenizer.json")
        #expect(model.tokenizerConfigPath == nil)
        #expect((#expect(throws: FormatError.self) { try model.tensor("c") })?.kind == .missing)
    }

    @Test func shardsListedByTheIndexAreReadAcrossFiles() throws {
        let path = try folder { path in
            try SafetensorsWriter.write(tensors: [("a", a), ("stray", b)], to: path + "/model-00001-of-00002.safetensors")
            try SafetensorsWriter.write(tensors: [("b", b)], to: path + "/model-00002-of-00002.safetensors")
            try write("""
            {"metadata":{"total_size":40},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}
            """, to: path + "/model.safetensors.index.json")
        }
        let model = try HFModelFolder(path: path)
        #expect(model.tensorNames == ["a", "b"])
        #expect(model.weightPaths.count == 2)
        #expect(try model.tensor("b").toArray() == [7, 8, 9, 10])
        #expect(try model.tensor("a").toArray() == [1, 2, 3, 4, 5, 6])
    }

    @Test func looseSafetensorsFilesAreReadWhenThereIsNoIndex() throws {
        let path = try folder { path in
            try SafetensorsWriter.write(tensors: [("a", a)], to: path + "/one.safetensors")
            try SafetensorsWriter.write(tensors: [("b", b)], to: path + "/two.safetensors")
        }
        #expect(try HFModelFolder(path: path).tensorNames == ["a", "b"])
        try SafetensorsWriter.write(tensors: [("a", a)], to: path + "/three.safetensors")
        let duplicate = #expect(throws: FormatError.self) { try HFModelFolder(path: path) }
        #expect(duplicate?.item == "a")
    }

    @Test func missingOrBrokenPiecesAreRefusedNamingTheFile() throws {
        let noWeights = try folder { _ in }
        #expect((#expect(throws: FormatError.self) { try HFModelFolder(path: noWeights) })?.item == "weights")

        let noConfig = try TestFiles.scratchDirectory()
        #expect((#expect(throws: FormatError.self) { try HFModelFolder(path: noConfig) })?.file.hasSuffix("config.json") == true)
        #expect(throws: FormatError.self) { try HFModelFolder(path: noConfig + "/nothing") }

        let badIndex = try folder { path in
            try SafetensorsWriter.write(tensors: [("a", a)], to: path + "/s.safetensors")
            try write(#"{"weight_map":{"a":"s.safetensors","b":"s.safetensors"}}"#, to: path + "/model.safetensors.index.json")
        }
        let missingTensor = #expect(throws: FormatError.self) { try HFModelFolder(path: badIndex) }
        #expect(missingTensor?.item == "b")
        #expect(missingTensor?.file.hasSuffix("s.safetensors") == true)

        let escaping = try folder { path in
            try write(#"{"weight_map":{"a":"../elsewhere.safetensors"}}"#, to: path + "/model.safetensors.index.json")
        }
        #expect((#expect(throws: FormatError.self) { try HFModelFolder(path: escaping) })?.description.contains("inside the model folder") == true)

        let truncated = try folder { path in
            let bytes = try SafetensorsWriter.serialized(tensors: [("a", a)])
            try Data(bytes.dropLast(3)).write(to: URL(fileURLWithPath: path + "/model.safetensors"))
        }
        #expect((#expect(throws: FormatError.self) { try HFModelFolder(path: truncated) })?.file.hasSuffix("model.safetensors") == true)
    }
}
