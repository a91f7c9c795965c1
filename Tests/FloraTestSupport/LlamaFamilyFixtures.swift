// Tests/Fixtures/llama-family (written by scripts/fixtures/make_llama_family_fixtures.py): tiny
// random Qwen2, Llama 3 (llama3 rotary scaling) and Mistral models as Hugging Face folders and as
// GGUF files the way llama.cpp's converter writes them, with transformers' logits at every position
// of three prompts.
import Foundation

public enum LlamaFamilyFixtures {
    public static let directory: String = TestFiles.repositoryRoot + "/Tests/Fixtures/llama-family"
    /// q/k/v biases, untied head, rope_theta 1e6; `qwen2` in GGUF (rows as they are).
    public static let qwen2 = "tiny-qwen2"
    /// rope_type "llama3" (`rope_freqs.weight` in GGUF), head_dim 32 ≠ hidden / heads, tied head.
    public static let llama3 = "tiny-llama3"
    /// One KV head for four query heads, untied head; `llama` in GGUF with F16 2-D weights.
    public static let mistral = "tiny-mistral"
    public static let models = [qwen2, llama3, mistral]

    /// `llama-family.json`.
    public struct Document: Decodable, Sendable {
        /// transformers 5's `rope_parameters`.
        public struct RopeParameters: Decodable, Sendable {
            public let rope_type: String
            public let rope_theta: Float
            public let factor: Float?
            public let low_freq_factor: Float?
            public let high_freq_factor: Float?
            public let original_max_position_embeddings: Int?
        }
        /// config.json's values.
        public struct Config: Decodable, Sendable {
            public let vocab_size: Int
            public let hidden_size: Int
            public let intermediate_size: Int
            public let num_hidden_layers: Int
            public let num_attention_heads: Int
            public let num_key_value_heads: Int
            public let rms_norm_eps: Float
            public let rope_parameters: RopeParameters
            public let max_position_embeddings: Int
            public let tie_word_embeddings: Bool
        }
        public struct GGUF: Decodable, Sendable {
            public let file: String
            /// `rope_freqs.weight`: one divisor per rotary frequency (Llama 3 only).
            public let rope_freqs: [Float]?
        }
        public struct Model: Decodable, Sendable {
            public let hf_folder: String
            public let model_type: String
            /// The folder's config.json in transformers 4's layout (`rope_theta`, `rope_scaling`).
            public let transformers4_config: String
            public let config: Config
            public let head_dim: Int
            public let attention_bias: Bool
            public let gguf: GGUF
            public let logits_file: String
            /// 8 greedy tokens after `prompts[0]`.
            public let greedy_new_ids: [Int32]
        }
        public let prompts: [ReferencePrompt]
        /// The prompt that reaches past twice Llama 3's original context.
        public let long_prompt: Int
        public let models: [String: Model]
    }

    public static func document() throws -> Document {
        try JSONDecoder().decode(Document.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/llama-family.json")))
    }

    /// A reference logits file, `[Σ prompt positions, vocab]` row-major.
    public static func logits(_ file: String) throws -> [Float] {
        try KQuantFixtures.floats(at: directory + "/" + file)
    }
}
