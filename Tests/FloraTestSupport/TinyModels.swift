// Tiny random models, a byte-level tokenizer that fits them, and random adapters on disk, for
// tests that need a whole model but not the real one.

import FloraAdapters
import FloraModel
import FloraTensor
import FloraTokenizer
import Foundation

public enum TinyModels {
    /// 257 tokens: the 256 bytes and `<|im_end|>` (end of sequence).
    public static let config = LlamaConfig(
        hiddenSize: 64, intermediateSize: 96, layerCount: 2, headCount: 4, kvHeadCount: 2,
        vocabularySize: 257, rmsNormEpsilon: 1e-5, ropeTheta: 10_000, contextLength: 512)

    public static func model(_ config: LlamaConfig = config, seed: UInt64 = 7) throws -> LlamaModel {
        try LlamaModel(config: config, weights: RandomWeightSource(config: config, seed: seed))
    }

    /// Byte-level tokenizer without merges: one token per byte, then `<|im_end|>` (id 256).
    public static func tokenizer() throws -> Tokenizer {
        try Tokenizer(TokenizerSpec(
            tokens: vocabulary, merges: [], addedTokens: [AddedToken(content: "<|im_end|>", id: 256, special: true)],
            eosTokenId: 256))
    }

    /// Writes `count` random adapters of mixed kinds, ranks and targets under `directory`;
    /// returns their names (folder names) in order.
    public static func writeRandomAdapters(
        count: Int, to directory: String, model: LlamaModel, seed: UInt64 = 1, kinds: [AdapterKind] = AdapterKind.allCases
    ) throws -> [String] {
        var generator = SeededGenerator(seed: seed)
        let targetChoices: [[TargetModule]] = [[.qProj, .kProj], [.vProj, .oProj], [.gateProj, .upProj, .downProj], TargetModule.llama]
        return try (0..<count).map { i in
            let kind = kinds[Int(generator.next() % UInt64(kinds.count))]
            let rank = [1, 2, 4, 8, 16][Int(generator.next() % 5)]
            let targets = kind == .ia3 ? [.kProj, .vProj, .downProj] : targetChoices[Int(generator.next() % UInt64(targetChoices.count))]
            let name = "adapter-\(i)-\(kind.rawValue)-r\(rank)"
            let weights = try AdapterWeights.initialized(
                name: name, kind: kind, rank: rank, targets: targets, shapes: model.adapterShapes, seed: generator.next(), random: true,
                baseWeights: model)
            try AdapterWriter.write(weights, to: directory + "/" + name)
            return name
        }
    }
}
