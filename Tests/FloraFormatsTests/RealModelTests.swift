// The real default model (SmolLM2-135M-Instruct, Q4_1 weights and Q8_0 embeddings) and the
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

    /// First four values, last three and the sum, computed by an independent NumPy reading of
    /// the same file (see the report of the formats branch).
    static let numpyReference: [(name: String, first: [Float], last: [Float], sum: Double)] = [
        ("blk.0.attn_q.weight", [-0.0963134765625, 0.1573486328125, -0.0963134765625, -0.73046875],
         [-0.096832275390625, -0.14984130859375, -0.255859375], 59.22322082519531),
        ("token_embd.weight", [-0.10654449462890625, 0.032978057861328125, 0.048198699951171875, -0.022830963134765625],
         [0.12858200073242188, -0.11989402770996094, -0.0417022705078125], -15353.04449415207),
        ("blk.0.attn_norm.weight", [0.01397705078125, 0.0238037109375, -0.019775390625, -0.0302734375],
         [0.0228271484375, 0.050048828125, -0.038330078125], 0.6129436492919922),
    ]

    @Test(arguments: numpyReference.indices)
    func dequantizedValuesMatchAnIndependentNumPyReading(index: Int) throws {
        let reference = Self.numpyReference[index]
        let values = try GGUFFile(path: try TestFiles.modelPath()).tensor(reference.name).toArray()
        #expect(Array(values.prefix(4)) == reference.first)
        #expect(Array(values.suffix(3)) == reference.last)
        let sum = values.reduce(0.0) { $0 + Double($1) }
        #expect(abs(sum - reference.sum) <= 1e-6 * max(1, abs(reference.sum)))
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
        #expect(types == ["F32", "Q4_1", "Q8_0"])
        #expect(file.tensorNames.count == 272)
    }
}
