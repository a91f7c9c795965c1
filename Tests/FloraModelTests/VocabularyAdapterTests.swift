// Adapters on the token embedding and the LM head (Tests/Fixtures/vocabulary-adapters, made by
// scripts/fixtures/make_vocabulary_adapter_fixtures.py with PEFT on the tiny Llama 3 (tied head)
// and Qwen2 (separate head) of Tests/Fixtures/llama-family and the tiny GPTBigCode of
// Tests/Fixtures/gptbigcode, whose embedding is `wte`): each alone against PEFT's logits, all
// of them mixed in one batch with block adapters and the base model, and malformed folders refused.

import FloraAdapters
import FloraFormats
import FloraModel
import FloraTensor
import FloraTestSupport
import Foundation
import Testing

@Suite struct VocabularyAdapterTests {
    static let directory = TestFiles.repositoryRoot + "/Tests/Fixtures/vocabulary-adapters"
    static let models = [LlamaFamilyFixtures.llama3, LlamaFamilyFixtures.qwen2, "tiny-starcoder"]
    static let kinds = ["lora-embed", "lora-head", "save-head", "save-embed"]
    static let adapters = models.flatMap { model in kinds.map { "\(model).\($0)" } }

    struct Document: Decodable {
        struct Prompt: Decodable { let ids: [Int32] }
        struct Adapter: Decodable {
            let model: String
            /// The base model's folder, relative to the fixture folder.
            let base_folder: String
            let adapter_folder: String
            let logits_file: String
            let rel_change_from_base: Double
        }
        let prompt: Prompt
        let adapters: [String: Adapter]
    }

    static func document() throws -> Document {
        try JSONDecoder().decode(Document.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/vocabulary-adapters.json")))
    }

    /// A little-endian float32 file of the fixture folder.
    static func floats(_ file: String) throws -> [Float] {
        let data = try Data(contentsOf: URL(fileURLWithPath: directory + "/" + file))
        return data.withUnsafeBytes { raw in (0..<data.count / 4).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
    }

    /// The base model of the fixture's adapters for `name`, from the folder the document names.
    static func model(_ name: String) throws -> any CausalLanguageModel {
        let folder = try #require(try document().adapters.values.first { $0.model == name }?.base_folder, "no adapter of \(name)")
        return try ModelLoader.load(path: directory + "/" + folder).requireModel()
    }

    @Test("each embedding or head adapter alone gives PEFT's logits", arguments: adapters)
    func eachAloneGivesPEFTLogits(adapter key: String) throws {
        let document = try Self.document()
        let reference = try #require(document.adapters[key])
        let model = try Self.model(reference.model)
        let weights = try AdapterLoader.load(folder: Self.directory + "/" + reference.adapter_folder, name: key, shapes: model.adapterShapes)
        #expect(!weights.vocabularyModules.isEmpty)
        let bank = try AdapterBank(capacity: 1, shapes: model.adapterShapes)
        let slot = try bank.install(weights)
        let expected = try Self.floats(reference.logits_file)
        let actual = try promptLogits(model, document.prompt.ids, adapters: bank, slot: slot)
        let error = relativeError(actual, expected)
        // The adapter moves PEFT's logits far more than the tolerance: ignoring it would fail.
        #expect(reference.rel_change_from_base > 0.05)
        #expect(error <= 1e-4, "\(key): relative error \(error)")
    }

    @Test("a batch mixing embedding and head adapters with every other kind and the base gives every row its solo result",
          arguments: models)
    func mixedBatchGivesEachRowItsSoloResult(model name: String) throws {
        let document = try Self.document()
        let model = try Self.model(name)
        let shapes = model.adapterShapes
        let bank = try AdapterBank(capacity: Self.kinds.count + AdapterKind.allCases.count, shapes: shapes)
        var slots: [AdapterSlot] = [AdapterBank.noAdapter]
        for kind in Self.kinds {
            let reference = try #require(document.adapters["\(name).\(kind)"])
            slots.append(try bank.install(AdapterLoader.load(folder: Self.directory + "/" + reference.adapter_folder, name: kind, shapes: shapes)))
        }
        let targets: [TargetModule] = shapes.inputs(.cAttn) > 0 ? [.cAttn, .mlpCProj] : [.qProj, .vProj, .downProj]
        for (index, kind) in AdapterKind.allCases.enumerated() {
            slots.append(try bank.install(AdapterWeights.initialized(
                name: kind.rawValue, kind: kind, rank: kind == .ia3 ? 1 : 3, targets: targets, shapes: shapes,
                seed: UInt64(index + 5), random: true, baseWeights: model)))
        }
        // Every slot twice (two rows of one head group), prompts of different lengths.
        let ids = document.prompt.ids
        var prompts: [(tokens: [Int32], slot: AdapterSlot)] = []
        for (i, slot) in (slots + slots.reversed()).enumerated() {
            prompts.append((Array(ids.prefix(3 + (i * 5) % (ids.count - 3))), slot))
        }
        let blocksPerPrompt = (ids.count + 15) / 16
        let cache = PagedKVCache(config: model.dimensions, blockCount: prompts.count * blocksPerPrompt)
        var batch = Batch()
        for (i, prompt) in prompts.enumerated() {
            let table = (0..<blocksPerPrompt).map { Int32(i * blocksPerPrompt + $0) }
            batch.append(sequenceTokens: prompt.tokens, startPosition: 0, blockTable: table, adapterSlot: prompt.slot)
        }
        let logits = try model.forward(batch, cache: cache, scratch: ForwardScratch(config: model.dimensions), adapters: bank)
        let vocabulary = model.dimensions.vocabularySize
        for (i, prompt) in prompts.enumerated() {
            let alone = try promptLogits(model, prompt.tokens, adapters: bank, slot: prompt.slot)
            let last = Array(alone[(prompt.tokens.count - 1) * vocabulary ..< prompt.tokens.count * vocabulary])
            let error = relativeError(logits.row(i), last)
            #expect(error <= 1e-4, "row \(i), slot \(prompt.slot): relative error \(error)")
        }
    }

    @Test("a saved head or embedding counts in the adapter's resident bytes")
    func savedCopiesCountInResidentBytes() throws {
        let document = try Self.document()
        let model = try Self.model(LlamaFamilyFixtures.qwen2)
        let table = model.dimensions.vocabularySize * model.dimensions.hiddenSize * MemoryLayout<Float>.stride
        for kind in ["save-head", "save-embed"] {
            let reference = try #require(document.adapters["\(LlamaFamilyFixtures.qwen2).\(kind)"])
            let weights = try AdapterLoader.load(folder: Self.directory + "/" + reference.adapter_folder, name: kind, shapes: model.adapterShapes)
            #expect(weights.sizeInBytes >= table, "\(kind): \(weights.sizeInBytes) bytes")
        }
    }

    @Test("the trainer's checkpoints, the writer and mixtures refuse embedding and head adapters, naming them")
    func writerAndMixturesRefuse() throws {
        let document = try Self.document()
        let model = try Self.model(LlamaFamilyFixtures.qwen2)
        let reference = try #require(document.adapters["\(LlamaFamilyFixtures.qwen2).lora-head"])
        let weights = try AdapterLoader.load(folder: Self.directory + "/" + reference.adapter_folder, name: "head", shapes: model.adapterShapes)
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("flora-vocabulary-\(UUID().uuidString)").path
        #expect(throws: AdapterError.self) { try AdapterWriter.write(weights, to: folder) }
        #expect(!FileManager.default.fileExists(atPath: folder + "/adapter_config.json"))
        do {
            _ = try AdapterWeights.mixing([(weights, 0.5), (weights, 0.5)], name: "mix")
            Issue.record("a mixture of lm_head adapters was accepted")
        } catch {
            #expect("\(error)".contains("lm_head"), "\(error)")
        }
    }
}
