// Tiny random models, adapters and minibatches the training tests build themselves.

import FloraAdapters
import FloraModel
import FloraTensor
import FloraTraining

enum Tiny {
    static let config = LlamaConfig(
        hiddenSize: 32, intermediateSize: 48, layerCount: 2, headCount: 4, kvHeadCount: 2,
        vocabularySize: 40, rmsNormEpsilon: 1e-5, ropeTheta: 10_000, contextLength: 64)

    static func model(_ config: LlamaConfig = config, seed: UInt64 = 11) throws -> LlamaModel {
        try LlamaModel(config: config, weights: RandomWeightSource(config: config, seed: seed))
    }

    /// A trainable adapter on `targets` of every layer, at random (non-identity) values.
    static func adapter(
        _ kind: AdapterKind, rank: Int = 2, targets: [TargetModule] = TargetModule.llama, model: LlamaModel, seed: UInt64 = 5,
        name: String? = nil
    ) throws -> TrainableAdapter {
        TrainableAdapter(try AdapterWeights.initialized(
            name: name ?? kind.rawValue, kind: kind, rank: rank, targets: targets, shapes: model.adapterShapes, seed: seed, random: true,
            alpha: 2 * Float(rank)))
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
}

/// `Σ a[i] · b[i]` in double.
func dot(_ a: UnsafePointer<Float>, _ b: [Double], count: Int) -> Double {
    (0..<count).reduce(0.0) { $0 + Double(a[$1]) * b[$1] }
}
