// Tiny random models, adapters and minibatches the training tests build themselves, for every
// architecture Flora trains.

import FloraAdapters
import FloraFormats
import FloraModel
import FloraTensor
import FloraTraining
import Testing

/// The tiny models the training tests run on: a Llama, and GPTBigCode both as StarCoder has it
/// (multi-query, tied head, tanh GELU) and in its other form (multi-head, untied head, exact
/// GELU, unscaled attention scores).
enum TinyArchitecture: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case llama
    case starcoder
    case starcoderMultiHead

    var testDescription: String { rawValue }
}

enum Tiny {
    static let config = LlamaConfig(
        hiddenSize: 32, intermediateSize: 48, layerCount: 2, headCount: 4, kvHeadCount: 2,
        vocabularySize: 40, rmsNormEpsilon: 1e-5, ropeTheta: 10_000, contextLength: 64)

    static func gptBigCodeConfig(multiQuery: Bool) -> GPTBigCodeConfig {
        GPTBigCodeConfig(
            hiddenSize: 32, innerSize: 48, layerCount: 2, headCount: 4, multiQuery: multiQuery, vocabularySize: 40, contextLength: 64,
            activation: multiQuery ? .tanh : .exact, tieWordEmbeddings: multiQuery, scalesAttentionWeights: multiQuery)
    }

    static func model(_ config: LlamaConfig = config, seed: UInt64 = 11) throws -> LlamaModel {
        try LlamaModel(config: config, weights: RandomWeightSource(config: config, seed: seed))
    }

    /// A model of `architecture`; `attentionBias` gives the Llama Qwen2's biased q, k, v.
    static func model(_ architecture: TinyArchitecture, attentionBias: Bool = false, seed: UInt64 = 11) throws -> any CausalLanguageModel {
        switch architecture {
        case .llama:
            var c = config
            c.attentionBias = attentionBias
            return try model(c, seed: seed)
        case .starcoder, .starcoderMultiHead:
            let c = gptBigCodeConfig(multiQuery: architecture == .starcoder)
            return try GPTBigCodeModel(config: c, weights: RandomWeightSource(config: c, seed: seed))
        }
    }

    /// Every linear layer of `model` that adapters may target.
    static func targets(_ model: any CausalLanguageModel) -> [TargetModule] {
        TargetModule.allCases.filter(model.adapterShapes.has)
    }

    /// A trainable adapter on `targets` (all of the model's when nil) of every layer, at random (non-identity) values.
    static func adapter(
        _ kind: AdapterKind, rank: Int = 2, targets: [TargetModule]? = nil, model: any CausalLanguageModel, seed: UInt64 = 5,
        name: String? = nil, roadVariant: PEFTConfig.RoadVariant = .road1
    ) throws -> TrainableAdapter {
        try TrainableAdapter(
            AdapterWeights.initialized(
                name: name ?? kind.rawValue, kind: kind, rank: rank, targets: targets ?? Self.targets(model), shapes: model.adapterShapes,
                seed: seed, random: true, alpha: 2 * Float(rank), baseWeights: model, roadVariant: roadVariant),
            baseWeights: model)
    }

    /// Random sequences: a plain one, one with two packed segments, one with a prompt that is not scored.
    static func examples(vocabulary: Int, seed: UInt64) -> [TrainingExample] {
        var generator = SeededGenerator(seed: seed)
        func tokens(_ n: Int) -> [Int32] { (0..<n).map { _ in Int32(generator.next() % UInt64(vocabulary)) } }
        return [
            TrainingExample(tokens: tokens(7)),
            TrainingExample(tokens: tokens(9), segmentStarts: [0, 4]),
            TrainingExample(tokens: tokens(6), targetMask: [false, false, false, true, true, true]),
        ]
    }

    /// The serving forward's logits of `tokens` (one sequence from position 0), `[L, vocab]`, with
    /// `adapter` installed in an adapter bank (none: the base model).
    static func servingLogits(_ model: any CausalLanguageModel, tokens: [Int32], adapter: AdapterWeights?) throws -> [Float] {
        let bank = try AdapterBank(capacity: 1, shapes: model.adapterShapes)
        let slot = try adapter.map { try bank.install($0) } ?? AdapterBank.noAdapter
        let cache = PagedKVCache(config: model.dimensions, blockCount: (tokens.count + 15) / 16)
        var batch = Batch()
        batch.append(sequenceTokens: tokens, startPosition: 0, blockTable: Array(0..<Int32(cache.blockCount)), adapterSlot: slot)
        batch.logitTokens = (0..<Int32(tokens.count)).map { $0 }
        let scratch = ForwardScratch(config: model.dimensions)  // owns the returned logits
        return try withExtendedLifetime(scratch) { Array(try model.forward(batch, cache: cache, scratch: scratch, adapters: bank)) }
    }
}

/// `Σ a[i] · b[i]` in double.
func dot(_ a: UnsafePointer<Float>, _ b: [Double], count: Int) -> Double {
    (0..<count).reduce(0.0) { $0 + Double(a[$1]) * b[$1] }
}

/// The largest absolute difference of `a` and `b`, and the largest magnitude in `b`.
func maxDifference(_ a: [Float], _ b: [Float]) -> (difference: Float, scale: Float) {
    (zip(a, b).map { abs($0 - $1) }.max() ?? 0, b.map { abs($0) }.max() ?? 0)
}
