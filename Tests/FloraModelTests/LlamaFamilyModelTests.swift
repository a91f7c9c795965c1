// Qwen2, Llama 3 and Mistral against transformers (Tests/Fixtures/llama-family): tiny random models
// from their Hugging Face folders and from GGUF files as llama.cpp's converter writes them (`qwen2`
// with rows as they are; `llama` with q/k rows permuted and, for Llama 3, `rope_freqs.weight`).

import FloraFormats
import FloraModel
import FloraTestSupport
import Foundation
import Testing

@Suite struct LlamaFamilyModelTests {
    typealias Fixtures = LlamaFamilyFixtures

    /// Where a model is read from.
    enum Source: String, CaseIterable, CustomTestStringConvertible {
        case huggingFaceFolder, gguf
        var testDescription: String { rawValue }
    }

    let document: Fixtures.Document

    init() throws {
        document = try Fixtures.document()
    }

    func reference(_ model: String) throws -> Fixtures.Document.Model {
        try #require(document.models[model], "llama-family.json has no model \(model)")
    }

    func path(_ reference: Fixtures.Document.Model, _ source: Source) -> String {
        Fixtures.directory + "/" + (source == .gguf ? reference.gguf.file : reference.hf_folder)
    }

    /// The configuration the fixture's config.json describes; the rotary scaling as `source` stores it
    /// (config.json's parameters, or GGUF's per-frequency divisors).
    func expectedConfig(_ reference: Fixtures.Document.Model, _ source: Source) throws -> LlamaConfig {
        let c = reference.config, rope = c.rope_parameters
        var scaling = RopeScaling.none
        if rope.rope_type == "llama3" {
            scaling = source == .gguf
                ? .divisors(try #require(reference.gguf.rope_freqs))
                : .llama3(
                    factor: try #require(rope.factor), lowFrequencyFactor: try #require(rope.low_freq_factor),
                    highFrequencyFactor: try #require(rope.high_freq_factor),
                    originalContextLength: try #require(rope.original_max_position_embeddings))
        }
        return LlamaConfig(
            hiddenSize: c.hidden_size, intermediateSize: c.intermediate_size, layerCount: c.num_hidden_layers,
            headCount: c.num_attention_heads, kvHeadCount: c.num_key_value_heads, headDim: reference.head_dim,
            vocabularySize: c.vocab_size, rmsNormEpsilon: c.rms_norm_eps, ropeTheta: rope.rope_theta,
            contextLength: c.max_position_embeddings, tieWordEmbeddings: c.tie_word_embeddings,
            attentionBias: reference.attention_bias, ropeScaling: scaling)
    }

    /// Every prompt's logits at every position against the reference file, 1e-4 relative per prompt.
    func expectLogits(_ model: any CausalLanguageModel, _ file: String, _ what: String) throws {
        let expected = try Fixtures.logits(file)
        for prompt in document.prompts {
            let actual = try promptLogits(model, prompt.ids)
            let error = relativeError(actual, expected[prompt.logitRange(vocabularySize: model.dimensions.vocabularySize)])
            #expect(error <= 1e-4, "\(what), '\(prompt.text)' (\(prompt.ids.count) tokens): relative error \(error)")
        }
    }

    @Test(arguments: Fixtures.models, Source.allCases)
    func eachModelGivesTransformersLogits(model name: String, from source: Source) throws {
        let reference = try reference(name)
        let loaded = try ModelLoader.load(path: path(reference, source))
        guard case .llama(let config) = loaded.config else {
            Issue.record("\(name) (\(source)) loaded as \(loaded.config)")
            return
        }
        #expect(config == (try expectedConfig(reference, source)), "\(name) (\(source))")
        #expect(config.attentionBias == (name == Fixtures.qwen2))
        #expect(config.tieWordEmbeddings == (name == Fixtures.llama3))
        for prompt in document.prompts {
            #expect(loaded.tokenizer.encode(prompt.text) == prompt.ids, "\(name) (\(source)): '\(prompt.text)'")
        }
        try expectLogits(try loaded.requireModel(), reference.logits_file, "\(name) (\(source))")
    }

    @Test(arguments: Fixtures.models, Source.allCases)
    func eachModelContinuesTheFirstPromptGreedilyAsTransformers(model name: String, from source: Source) throws {
        let reference = try reference(name)
        let model = try ModelLoader.load(path: path(reference, source)).requireModel()
        var ids = document.prompts[0].ids
        var continuation: [Int32] = []
        for _ in reference.greedy_new_ids {
            let logits: [Float] = try promptLogits(model, ids)
            let vocabulary = model.dimensions.vocabularySize
            let last = logits[(ids.count - 1) * vocabulary ..< ids.count * vocabulary]   // [vocab]
            let best = try #require(last.indices.max { last[$0] < last[$1] })
            let token = Int32(best - last.startIndex)
            continuation.append(token)
            ids.append(token)
        }
        #expect(continuation == reference.greedy_new_ids, "\(name) (\(source))")
    }

    /// The fixtures would not catch a model that ignores the scaling unless it moved the logits well
    /// past the tolerance: Llama 3 without it is off by far more than 1e-4 on the long prompt.
    @Test func withoutItsRopeScalingLlama3MissesTheLongPrompt() throws {
        let reference = try reference(Fixtures.llama3)
        let folder = try HFModelFolder(path: path(reference, .huggingFaceFolder))
        var config = try LlamaConfig(hf: folder.config, source: folder.configPath)
        #expect(config.ropeScaling != .none)
        config.ropeScaling = .none
        let model = try LlamaModel(config: config, weights: HFWeightSource(folder: folder))
        let prompt = document.prompts[document.long_prompt]
        let expected = try Fixtures.logits(reference.logits_file)
        let error = relativeError(try promptLogits(model, prompt.ids), expected[prompt.logitRange(vocabularySize: config.vocabularySize)])
        #expect(error > 1e-3)
    }

    /// Most published checkpoints have transformers 4's config.json (`rope_theta`, `rope_scaling` at
    /// the top); transformers 5 writes `rope_parameters`. Both mean the same model.
    @Test(arguments: Fixtures.models)
    func aTransformers4ConfigMeansTheSameModel(model name: String) throws {
        let reference = try reference(name)
        let folder = try TestFiles.scratchDirectory() + "/" + name
        try FileManager.default.copyItem(atPath: path(reference, .huggingFaceFolder), toPath: folder)
        try FileManager.default.removeItem(atPath: folder + "/config.json")
        try FileManager.default.copyItem(atPath: Fixtures.directory + "/" + reference.transformers4_config, toPath: folder + "/config.json")
        let legacy = try ModelLoader.load(path: folder, loadWeights: false)
        #expect(legacy.config == .llama(try expectedConfig(reference, .huggingFaceFolder)))
    }

    /// Flora has no sliding-window attention; within the window it is full attention, so a Mistral
    /// with a window (7B v0.1: 4096) serves no more than the window, and Qwen2 only when its
    /// use_sliding_window is on.
    @Test(arguments: [(Fixtures.mistral, false, 48), (Fixtures.qwen2, false, 128), (Fixtures.qwen2, true, 48)])
    func aSlidingWindowBoundsTheContext(model name: String, useSlidingWindow: Bool, contextLength: Int) throws {
        let reference = try reference(name)
        let folder = try TestFiles.scratchDirectory() + "/" + name
        try FileManager.default.copyItem(atPath: path(reference, .huggingFaceFolder), toPath: folder)
        let url = URL(fileURLWithPath: folder + "/config.json")
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        config["sliding_window"] = 48
        if name == Fixtures.qwen2 { config["use_sliding_window"] = useSlidingWindow }
        try JSONSerialization.data(withJSONObject: config).write(to: url)
        let loaded = try ModelLoader.load(path: folder, loadWeights: false)
        #expect(loaded.config.dimensions.contextLength == contextLength)
    }
}
