// The real default model (SmolLM2-135M-Instruct, Q4_1 weights and Q8_0 embeddings) and the
import FloraTestSupport
// golden reference files read through the public API.
import FloraFormats
import FloraTensor
import Foundation
import Testing

@Suite struct RealModelTests {
    @Test func theDefaultModelHasSmolLM2sHeaderAndMetadata() throws {
        let file = try GGUFFile(path: try TestFiles.modelPath())
        #expect(file.version == 3)
        #expect(try file.string("general.architecture") == "llama")
        #expect(try file.int("llama.block_count") == 30)
        #expect(try file.int("llama.embedding_length") == 576)
        #expect(try file.stringArray("tokenizer.ggml.tokens").count == 49152)
        #expect(try file.intArray("tokenizer.ggml.token_type").count == 49152)
        #expect(try file.optionalFloatArray("tokenizer.ggml.scores").map(\.count) ?? 49152 == 49152)
        #expect(try file.stringArray("tokenizer.ggml.merges").count > 40000)
    }

    @Test func theDefaultModelsTensorsLoadWithHuggingFaceShapes() throws {
        let file = try GGUFFile(path: try TestFiles.modelPath())
        let q = try file.tensor("blk.0.attn_q.weight")
        #expect(q.shape == [576, 576])
        #expect(try file.tensorInfo("blk.0.attn_q.weight").dimensions == [576, 576])
        let embedding = try file.tensor("token_embd.weight")
        #expect(embedding.shape == [49152, 576])
        #expect(try file.tensorInfo("token_embd.weight").type == .q8_0)
        #expect(try file.tensorInfo("blk.0.ffn_gate.weight").shape == [1536, 576])
        let values = q.toArray()
        #expect(values.contains { $0 != 0 })
        #expect(values.allSatisfy { abs($0) < 10 })
    }

    @Test func everyTensorOfTheDefaultModelDequantizes() throws {
        let file = try GGUFFile(path: try TestFiles.modelPath())
        var types = Set<String>()
        for name in file.tensorNames {
            let info = try file.tensorInfo(name)
            types.insert(info.type.description)
            let tensor = try file.tensor(name)
            #expect(tensor.shape == info.shape)
        }
        print("types: \(types.sorted()), tensors: \(file.tensorNames.count)")
    }
}
