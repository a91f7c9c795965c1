// GPTBigCode (StarCoder) against transformers and PEFT (Tests/Fixtures/gptbigcode): a multi-query
// and a multi-head tiny model from their Hugging Face folders and their `starcoder` GGUF files,
// and LoRA, rsLoRA, IA3 and fLoRA adapters on c_attn / attn.c_proj / c_fc / mlp.c_proj, alone
// and mixed in one batch.

import FloraAdapters
import FloraFormats
import FloraModel
import FloraTensor
import FloraTestSupport
import Foundation
import Testing

@Suite struct GPTBigCodeModelTests {
    typealias Fixtures = GPTBigCodeFixtures
    let document: Fixtures.Document

    init() throws {
        document = try Fixtures.document()
    }

    func reference(_ model: String) throws -> Fixtures.Document.Model {
        try #require(document.models[model], "gptbigcode.json has no model \(model)")
    }

    /// Every prompt's logits at every position against the reference file, 1e-4 relative per prompt.
    func expectLogits(
        _ model: any CausalLanguageModel, _ file: String, adapters: AdapterBank? = nil, slot: Int32 = -1, _ what: String
    ) throws {
        let expected = try Fixtures.logits(file)
        let vocabulary = model.dimensions.vocabularySize
        for prompt in document.prompts {
            let actual = try promptLogits(model, prompt.ids, adapters: adapters, slot: slot)
            let rows = prompt.first_row * vocabulary ..< (prompt.first_row + prompt.ids.count) * vocabulary
            let error = relativeError(actual, expected[rows])
            #expect(error <= 1e-4, "\(what), '\(prompt.text)': relative error \(error)")
        }
    }

    @Test(arguments: [Fixtures.multiQuery, Fixtures.multiHead])
    func theHuggingFaceFolderGivesTransformersLogits(model name: String) throws {
        let reference = try reference(name)
        let loaded = try ModelLoader.load(path: Fixtures.directory + "/" + reference.hf_folder)
        guard case .gptBigCode(let config) = loaded.config else {
            Issue.record("\(name) loaded as \(loaded.config)")
            return
        }
        #expect(config.isMultiQuery == (name == Fixtures.multiQuery))
        #expect(config.tieWordEmbeddings == (name == Fixtures.multiQuery))
        #expect(config.activation == (name == Fixtures.multiQuery ? .tanh : .exact))
        for prompt in document.prompts {
            #expect(loaded.tokenizer.encode(prompt.text) == prompt.ids, "'\(prompt.text)'")
        }
        try expectLogits(try loaded.requireModel(), try #require(reference.adapters["base"]).logits_file, name)
    }

    @Test(arguments: [Fixtures.multiQuery, Fixtures.multiHead])
    func theStarcoderGGUFFileGivesTheSameLogits(model name: String) throws {
        let reference = try reference(name)
        let gguf = try ModelLoader.load(path: Fixtures.directory + "/" + reference.gguf.file)
        let hf = try ModelLoader.load(path: Fixtures.directory + "/" + reference.hf_folder, loadWeights: false)
        guard case .gptBigCode(let fromFile) = gguf.config, case .gptBigCode(var fromFolder) = hf.config else {
            Issue.record("\(name): loaded as \(gguf.config) and \(hf.config)")
            return
        }
        // GGUF cannot say which GELU a model uses; llama.cpp's starcoder graph always takes tanh.
        fromFolder.activation = .tanh
        #expect(fromFile == fromFolder)
        for prompt in document.prompts {
            #expect(gguf.tokenizer.encode(prompt.text) == prompt.ids, "'\(prompt.text)'")
        }
        try expectLogits(try gguf.requireModel(), reference.gguf.logits_file, "\(name).gguf")
    }

    /// The multi-query model with every fixture adapter in a bank; the slot of each by name.
    func modelWithAdapters(kernel: LoRAKernel) throws -> (any CausalLanguageModel, AdapterBank, [String: Int32]) {
        let model = try ModelLoader.load(path: Fixtures.directory + "/" + reference(Fixtures.multiQuery).hf_folder).requireModel()
        let bank = try AdapterBank(capacity: Fixtures.adapterNames.count, shapes: model.adapterShapes)
        bank.loraKernel = kernel
        var slots: [String: Int32] = ["base": AdapterBank.noAdapter]
        for name in Fixtures.adapterNames {
            let weights = try AdapterLoader.load(folder: Fixtures.directory + "/adapters/" + name, name: name, shapes: model.adapterShapes)
            slots[name] = try bank.install(weights)
        }
        return (model, bank, slots)
    }

    @Test(arguments: LoRAKernel.allCases)
    func eachPEFTAdapterAloneEqualsPEFT(kernel: LoRAKernel) throws {
        let (model, bank, slots) = try modelWithAdapters(kernel: kernel)
        let references = try reference(Fixtures.multiQuery).adapters
        for name in Fixtures.adapterNames {
            try expectLogits(model, try #require(references[name]).logits_file, adapters: bank, slot: slots[name]!, "\(name) (\(kernel))")
        }
    }

    @Test(arguments: LoRAKernel.allCases)
    func oneBatchMixingEveryAdapterKindEqualsEachRequestAlone(kernel: LoRAKernel) throws {
        let (model, bank, slots) = try modelWithAdapters(kernel: kernel)
        let references = try reference(Fixtures.multiQuery).adapters
        let rows = ["base"] + Fixtures.adapterNames + ["flora_r2"]   // fLoRA twice: two sequences in one slot
        var batch = Batch()
        var nextBlock: Int32 = 0
        var layout: [(name: String, prompt: Fixtures.Document.Prompt, firstToken: Int)] = []
        for (i, name) in rows.enumerated() {
            let prompt = document.prompts[i % document.prompts.count]
            let blocks = Int32((prompt.ids.count + 15) / 16)
            layout.append((name, prompt, batch.tokenCount))
            batch.append(sequenceTokens: prompt.ids, startPosition: 0, blockTable: Array(nextBlock ..< nextBlock + blocks), adapterSlot: slots[name]!)
            nextBlock += blocks
        }
        batch.logitTokens = (0..<Int32(batch.tokenCount)).map { $0 }
        let cache = PagedKVCache(config: model.dimensions, blockCount: Int(nextBlock))
        let logits = Array(try model.forward(batch, cache: cache, scratch: ForwardScratch(config: model.dimensions), adapters: bank))
        let vocabulary = model.dimensions.vocabularySize
        for (name, prompt, firstToken) in layout {
            let expected = try Fixtures.logits(try #require(references[name]).logits_file)
            let actual = logits[firstToken * vocabulary ..< (firstToken + prompt.ids.count) * vocabulary]
            let error = relativeError(actual, expected[prompt.first_row * vocabulary ..< (prompt.first_row + prompt.ids.count) * vocabulary])
            #expect(error <= 1e-4, "\(name) on '\(prompt.text)' in a mixed batch (\(kernel)): relative error \(error)")
        }
    }

    @Test func anAdapterForLlamaModulesIsRefusedNamingTheModulesGPTBigCodeHas() throws {
        let model = try ModelLoader.load(path: Fixtures.directory + "/" + reference(Fixtures.multiQuery).hf_folder, loadWeights: false)
        let shapes = try model.config.adapterShapes()
        #expect { try AdapterLoader.load(folder: TestFiles.goldenDirectory + "/adapters/flora_r1", name: "llama", shapes: shapes) } throws: {
            let message = "\($0)"
            return message.contains("q_proj") && message.contains("c_attn") && message.contains("adapter_config.json")
        }
    }

    @Test func aFolderWhoseConfigPromisesMoreLayersNamesTheMissingTensor() throws {
        let source = Fixtures.directory + "/" + (try reference(Fixtures.multiQuery)).hf_folder
        let folder = try TestFiles.scratchDirectory() + "/more-layers"
        try FileManager.default.copyItem(atPath: source, toPath: folder)
        let config = try String(contentsOfFile: folder + "/config.json", encoding: .utf8)
        #expect(config.contains("\"n_layer\": 2"))
        try config.replacingOccurrences(of: "\"n_layer\": 2", with: "\"n_layer\": 3").write(toFile: folder + "/config.json", atomically: true, encoding: .utf8)
        #expect { try ModelLoader.load(path: folder) } throws: { "\($0)".contains("transformer.h.2.") && "\($0)".contains("more-layers") }
    }
}
