// K-quant test data: random but valid super-blocks, and the reference files of Tests/Fixtures/kquants
// (written by scripts/fixtures/make_kquant_fixtures.py with the `gguf` package and transformers).

import FloraTensor
import Foundation

public enum KQuantFixtures {
    /// The K-quants Flora reads.
    public static let formats: [BlockFormat] = [.q2_K, .q3_K, .q4_K, .q5_K, .q6_K]
    /// The 32-value formats with reference blocks: what K-quant mixes fall back to, and Q4_0.
    public static let fallbackFormats: [BlockFormat] = [.q4_0, .q5_0, .q5_1, .iq4_nl]

    public static let directory: String = TestFiles.repositoryRoot + "/Tests/Fixtures/kquants"

    /// Byte offsets of the half floats `d` and `dmin` in a block of `format` (ggml's block_q*_K;
    /// nil: the format has no dmin).
    public static func halfOffsets(_ format: BlockFormat) -> (d: Int, dmin: Int?) {
        switch format {
        case .q2_K: (80, 82)
        case .q3_K: (108, nil)
        case .q6_K: (208, nil)
        default: (0, 2)
        }
    }

    /// `count` blocks of `format`: random code and scale bytes (every bit pattern of those is
    /// valid) with finite `d` and `dmin` of either sign, up to `scale` in magnitude.
    public static func randomBlocks(_ format: BlockFormat, count: Int, seed: UInt64, scale: Float = 0.01) -> [UInt8] {
        var generator = SeededGenerator(seed: seed)
        var bytes = (0 ..< count * format.bytesPerBlock).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }
        let (d, dmin) = halfOffsets(format)
        func setHalf(_ block: Int, _ offset: Int) {
            let value = Float.random(in: -scale ... scale, using: &generator)
            let bits = Float16(value).bitPattern
            bytes[block * format.bytesPerBlock + offset] = UInt8(bits & 0xFF)
            bytes[block * format.bytesPerBlock + offset + 1] = UInt8(bits >> 8)
        }
        for block in 0 ..< count {
            setHalf(block, d)
            if let dmin { setHalf(block, dmin) }
        }
        return bytes
    }

    /// The reference blocks of `format` and the `gguf` package's dequantization of them.
    public static func referenceBlocks(_ format: BlockFormat) throws -> (blocks: [UInt8], values: [Float]) {
        let name = format.rawValue.uppercased()  // Q4_K
        let blocks = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(directory)/blocks/\(name).bin")))
        return (blocks, try floats(at: "\(directory)/blocks/\(name).f32"))
    }

    /// `kquants.json`: per tiny model, its tensor types and prompts.
    public struct Document: Decodable, Sendable {
        public typealias Prompt = ReferencePrompt
        public struct Model: Decodable, Sendable {
            public let tie_word_embeddings: Bool
            public let layers: Int
            public let vocab_size: Int
            public let tensor_types: [String: String]
            public let logits_file: String
            public let prompts: [Prompt]
        }
        public let models: [String: Model]
    }

    public static func document() throws -> Document {
        try JSONDecoder().decode(Document.self, from: Data(contentsOf: URL(fileURLWithPath: directory + "/kquants.json")))
    }

    /// transformers' logits of `model` (`[Σ positions, vocab]`, row-major).
    public static func logits(_ model: Document.Model) throws -> [Float] {
        try floats(at: directory + "/" + model.logits_file)
    }

    /// A file of little-endian float32 values.
    static func floats(at path: String) throws -> [Float] {
        let raw = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        return stride(from: 0, to: raw.count - 3, by: 4).map { offset in
            Float(bitPattern: UInt32(raw[offset]) | UInt32(raw[offset + 1]) << 8 | UInt32(raw[offset + 2]) << 16 | UInt32(raw[offset + 3]) << 24)
        }
    }
}
