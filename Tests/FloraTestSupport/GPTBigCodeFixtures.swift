// Tests/Fixtures/gptbigcode (written by scripts/fixtures/make_gptbigcode_fixtures.py): two tiny
// random GPTBigCode models as Hugging Face folders and `starcoder` GGUF files, PEFT adapters on
// the multi-query one, and transformers' + PEFT's logits at every position of three prompts.
import Foundation

public enum GPTBigCodeFixtures {
    public static let directory: String = TestFiles.repositoryRoot + "/Tests/Fixtures/gptbigcode"
    /// The multi-query model (StarCoder's attention, tied head) that the adapters are made for.
    public static let multiQuery = "tiny-starcoder"
    /// The multi-head model (`multi_query: false`, untied head, exact GELU).
    public static let multiHead = "tiny-starcoder-mha"
    public static let adapterNames = ["lora_r4", "lora_r2_attn", "ia3", "flora_r2"]

    /// `gptbigcode.json`.
    public struct Document: Decodable, Sendable {
        public typealias Prompt = ReferencePrompt
        public struct Reference: Decodable, Sendable {
            public let path: String?
            public let logits_file: String
            public let greedy_new_ids: [Int32]
        }
        public struct GGUF: Decodable, Sendable {
            public let file: String
            public let logits_file: String
        }
        public struct Model: Decodable, Sendable {
            public let hf_folder: String
            public let gguf: GGUF
            /// "base" and each adapter's name.
            public let adapters: [String: Reference]
        }
        public let prompts: [Prompt]
        public let models: [String: Model]
    }

    public static func document() throws -> Document {
        try JSONDecoder().decode(Document.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/gptbigcode.json")))
    }

    /// A reference logits file, `[Σ prompt positions, vocab]` row-major.
    public static func logits(_ file: String) throws -> [Float] {
        try KQuantFixtures.floats(at: directory + "/" + file)
    }
}
