// Malformed embedding and head adapters are refused with an error naming the file, the tensor or
// key, what was expected and what was found: copies of Tests/Fixtures/vocabulary-adapters folders,
// each broken in one way.

import FloraAdapters
import FloraFormats
import FloraModel
import FloraTensor
import FloraTestSupport
import Foundation
import Testing

@Suite struct VocabularyAdapterRefusalTests {
    static let head = "base_model.model.lm_head"
    static let embedding = "base_model.model.model.embed_tokens"

    /// A way to break a fixture folder of the untied tiny Qwen2, and what the error must name.
    struct Breakage: Sendable, CustomTestStringConvertible {
        let label: String
        let adapter: String
        var config: @Sendable (String) -> String = { $0 }
        var tensors: @Sendable (inout [(name: String, tensor: Tensor)]) -> Void = { _ in }
        /// A value written as NaN into the file (safetensors writers refuse nothing; PEFT could save one).
        var poison: String?
        let item: String
        let mentions: [String]
        var testDescription: String { label }
    }

    static let breakages: [Breakage] = [
        Breakage(label: "NaN in a saved head", adapter: "save-head", poison: "\(head).weight", item: "\(head).weight", mentions: ["finite"]),
        Breakage(label: "embedding LoRA A for another vocabulary", adapter: "lora-embed", tensors: { tensors in
            let i = tensors.firstIndex { $0.name.hasSuffix("lora_embedding_A") }!
            tensors[i].tensor = Tensor(zeros: [4, 257])
        }, item: "\(embedding).lora_embedding_A", mentions: ["[4, 258]", "[4, 257]"]),
        Breakage(label: "head LoRA without B", adapter: "lora-head", tensors: { tensors in
            tensors.removeAll { $0.name == "\(head).lora_B.weight" }
        }, item: "\(head).lora_B.weight", mentions: ["no such tensor"]),
        Breakage(label: "a saved head the config does not name", adapter: "save-head", config: {
            $0.replacingOccurrences(of: "\"lm_head\"", with: "\"embed_tokens\"")
        }, item: "\(head).weight", mentions: ["modules_to_save"]),
        Breakage(label: "a saved head of the wrong width", adapter: "save-head", tensors: { tensors in
            let i = tensors.firstIndex { $0.name == "\(head).weight" }!
            tensors[i].tensor = Tensor(zeros: [258, 63])
        }, item: "\(head).weight", mentions: ["[258, 64]", "[258, 63]"]),
        Breakage(label: "weight tying asked for", adapter: "lora-embed", config: {
            $0.replacingOccurrences(of: "\"ensure_weight_tying\": false", with: "\"ensure_weight_tying\": true")
        }, item: "ensure_weight_tying", mentions: ["true"]),
        Breakage(label: "modules_to_save naming another module", adapter: "save-head", config: {
            $0.replacingOccurrences(of: "\"lm_head\"", with: "\"score\"")
        }, item: "modules_to_save", mentions: ["score"]),
    ]

    @Test("a malformed embedding or head adapter is refused, naming the tensor or key", arguments: breakages)
    func malformedFoldersAreRefused(_ breakage: Breakage) throws {
        let source = VocabularyAdapterTests.directory + "/\(LlamaFamilyFixtures.qwen2).\(breakage.adapter)"
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("flora-vocabulary-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let config = try String(contentsOfFile: source + "/adapter_config.json", encoding: .utf8)
        let changed = breakage.config(config)
        try changed.write(toFile: folder + "/adapter_config.json", atomically: true, encoding: .utf8)
        let file = try SafetensorsFile(path: source + "/adapter_model.safetensors")
        var tensors = try file.orderedTensorInfos.map { (name: $0.name, tensor: try file.tensor($0.name)) }
        breakage.tensors(&tensors)
        let sentinel: Float = 1234.5
        if let poison = breakage.poison {
            let i = try #require(tensors.firstIndex { $0.name == poison })
            tensors[i].tensor.pointer[7] = sentinel
        }
        var bytes = try SafetensorsWriter.serialized(tensors: tensors)
        if breakage.poison != nil {
            let pattern = withUnsafeBytes(of: sentinel.bitPattern.littleEndian, Array.init)
            let nan = withUnsafeBytes(of: Float.nan.bitPattern.littleEndian, Array.init)
            let at = try #require((0...(bytes.count - 4)).first { Array(bytes[$0 ..< $0 + 4]) == pattern })
            bytes.replaceSubrange(at ..< at + 4, with: nan)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: folder + "/adapter_model.safetensors"))

        let model = try VocabularyAdapterTests.model(LlamaFamilyFixtures.qwen2)
        do {
            _ = try AdapterLoader.load(folder: folder, name: "broken", shapes: model.adapterShapes)
            Issue.record("\(breakage.label): accepted")
        } catch let error as FormatError {
            #expect(error.item == breakage.item, "\(breakage.label): \(error)")
            for text in breakage.mentions { #expect("\(error)".contains(text), "\(breakage.label): \(error)") }
        }
    }
}
