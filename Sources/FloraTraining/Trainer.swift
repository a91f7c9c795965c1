// The training loop (DESIGN.md section 6): every step draws `batchSize × gradientAccumulation`
// sequences per adapter, runs them as mixed minibatches (each example updates only its own
// adapter), clips each adapter's gradient, and takes one AdamW step per adapter on the shared
// schedule. Held-out loss is measured before, every `evalEvery` steps and after; checkpoints go
// to `<out>/checkpoint-<step>` and the final adapters to `<out>` itself.

import FloraAdapters
import FloraModel
import FloraTensor
import Foundation

/// What the loop reports as it runs.
public enum TrainingEvent: Sendable {
    case step(StepReport)
    case evaluation(EvaluationReport)
    case checkpoint(step: Int, folder: String)
}

public struct StepReport: Sendable {
    /// Steps completed, including this one.
    public var step: Int
    public var totalSteps: Int
    /// Mean training cross-entropy of each adapter over this step's targets, by adapter order.
    public var losses: [Double]
    /// Each adapter's gradient norm before clipping.
    public var gradientNorms: [Double]
    public var learningRate: Float
    /// Tokens run through forward and backward in this step.
    public var tokens: Int
    /// Tokens per second since this run (or resume) started.
    public var tokensPerSecond: Double
    public var elapsedSeconds: Double
    public var secondsLeft: Double

    /// Mean of the adapters' losses.
    public var meanLoss: Double { losses.isEmpty ? 0 : losses.reduce(0, +) / Double(losses.count) }
}

public struct EvaluationReport: Sendable {
    public var step: Int
    /// Held-out mean cross-entropy per adapter (nil: the adapter has no held-out data).
    public var losses: [Double?]
    public var names: [String]
}

public final class Trainer {
    public let options: TrainingOptions
    public let datasets: [TrainingDataset]
    public let adapters: [TrainableAdapter]
    public let outputDirectory: String
    /// Optimiser steps completed.
    public private(set) var step: Int
    public let engine: GradientEngine
    let moments: [AdamWState]
    var streams: [DataStream]
    let baseModel: String?

    /// A new run: fresh adapters (fLoRA at the identity, LoRA and DoRA with B = 0, IA3 at ones,
    /// RoAd at θ = 0, α = 1), adapter i seeded with `seed + i`.
    public convenience init(
        model: any CausalLanguageModel, datasets: [TrainingDataset], options: TrainingOptions, outputDirectory: String, baseModel: String? = nil
    ) throws {
        try options.validate()
        let adapters = try datasets.enumerated().map { index, dataset in
            let weights = try AdapterWeights.initialized(
                name: dataset.name, kind: options.kind, rank: options.rank, targets: options.targets, shapes: model.adapterShapes,
                seed: options.seed &+ UInt64(index), alpha: options.loraAlpha, symmetryNoise: options.symmetryNoise,
                baseWeights: model, roadVariant: options.roadVariant ?? .road1)
            let adapter = try TrainableAdapter(weights, baseWeights: model)
            adapter.baseModelNameOrPath = baseModel
            return adapter
        }
        try self.init(
            model: model, datasets: datasets, options: options, outputDirectory: outputDirectory, adapters: adapters,
            moments: adapters.map { AdamWState(count: $0.parameterCount) }, step: 0, positions: nil, baseModel: baseModel)
    }

    /// Continues the run saved in `checkpoint` (a folder `Checkpoint.locate` found) on the same
    /// data; `steps` may extend the run (the schedule then stretches to the new end).
    public convenience init(
        resumingFrom checkpoint: String, model: any CausalLanguageModel, datasets: [TrainingDataset], outputDirectory: String,
        steps: Int? = nil, evalEvery: Int? = nil, saveEvery: Int? = nil
    ) throws {
        let state = try Checkpoint.readState(checkpoint)
        let names = state.datasets.map(\.name)
        guard datasets.map(\.name) == names else {
            throw TrainingError.checkpoint(path: checkpoint, detail: "the checkpoint trains adapters \(names), the run was given \(datasets.map(\.name))")
        }
        for (dataset, saved) in zip(datasets, state.datasets) where String(dataset.fingerprint, radix: 16) != saved.fingerprint {
            throw TrainingError.checkpoint(
                path: checkpoint, detail: "the data of '\(dataset.name)' (\(dataset.source)) differs from the data the checkpoint was trained on (\(saved.source))")
        }
        var options = state.options
        if let steps { options.steps = steps }
        if let evalEvery { options.evalEvery = evalEvery }
        if let saveEvery { options.saveEvery = saveEvery }
        try options.validate()
        let (adapters, moments) = try Checkpoint.readAdapters(checkpoint, state: state, shapes: model.adapterShapes, baseWeights: model)
        try self.init(
            model: model, datasets: datasets, options: options, outputDirectory: outputDirectory, adapters: adapters, moments: moments,
            step: state.step, positions: state.datasets.map { ($0.epoch, $0.position) }, baseModel: state.baseModel)
    }

    private init(
        model: any CausalLanguageModel, datasets: [TrainingDataset], options: TrainingOptions, outputDirectory: String, adapters: [TrainableAdapter],
        moments: [AdamWState], step: Int, positions: [(epoch: Int, position: Int)]?, baseModel: String?
    ) throws {
        guard !datasets.isEmpty else { throw TrainingError.invalidArgument("give at least one dataset") }
        var seen = Set<String>()
        for dataset in datasets {
            guard !dataset.name.isEmpty, !dataset.name.contains("/"), !dataset.name.hasPrefix("."), !dataset.name.hasPrefix("checkpoint-") else {
                throw TrainingError.invalidArgument("adapter name '\(dataset.name)' cannot be a folder name in the output (no '/', no leading '.', not checkpoint-…)")
            }
            guard seen.insert(dataset.name).inserted else { throw TrainingError.invalidArgument("adapter name '\(dataset.name)' is given twice") }
            guard !dataset.train.isEmpty else { throw TrainingError.data(file: dataset.source, line: nil, detail: "no training sequences") }
        }
        self.options = options
        self.datasets = datasets
        self.adapters = adapters
        self.moments = moments
        self.outputDirectory = outputDirectory
        self.step = step
        self.baseModel = baseModel
        engine = try GradientEngine(model: model, adapters: adapters)
        streams = datasets.enumerated().map { index, dataset in
            let seed = options.seed &+ 0x5EED_0000 &+ UInt64(index) &* 0x1_0000_0001
            let position = positions?[index]
            return DataStream(count: dataset.train.count, seed: seed, epoch: position?.epoch ?? 0, position: position?.position ?? 0)
        }
    }

    /// Runs until `options.steps` (or `stopAfter` steps, for tests that interrupt a run), reporting
    /// as it goes, and writes the final adapters and state into `outputDirectory` when it reaches the end.
    public func run(stopAfter: Int? = nil, report: (TrainingEvent) -> Void = { _ in }) throws {
        let log = try TrainingLog(directory: outputDirectory)
        let names = adapters.map(\.name)
        if step == 0 {  // the loss before training
            let evaluation = EvaluationReport(step: step, losses: try heldOutLosses(), names: names)
            try log.append(evaluation)
            report(.evaluation(evaluation))
        }
        let start = ContinuousClock.now
        var tokensThisRun = 0
        var trainingSeconds = 0.0  // evaluations and checkpoints left out
        let firstStep = step
        let end = min(options.steps, stopAfter.map { step + $0 } ?? options.steps)
        while step < end {
            let stepStart = ContinuousClock.now
            var result = try trainStep()
            trainingSeconds += Self.seconds(since: stepStart)
            step += 1
            tokensThisRun += result.tokens
            result.tokensPerSecond = trainingSeconds > 0 ? Double(tokensThisRun) / trainingSeconds : 0
            result.elapsedSeconds = Self.seconds(since: start)
            result.secondsLeft = trainingSeconds / Double(step - firstStep) * Double(options.steps - step)
            try log.append(result, names: names)
            report(.step(result))
            let last = step == options.steps
            if last || options.evalEvery > 0 && step % options.evalEvery == 0 {
                let evaluation = EvaluationReport(step: step, losses: try heldOutLosses(), names: names)
                try log.append(evaluation)
                report(.evaluation(evaluation))
            }
            if last {
                try save(to: outputDirectory)
                report(.checkpoint(step: step, folder: outputDirectory))
            } else if options.saveEvery > 0 && step % options.saveEvery == 0 {
                let folder = (outputDirectory as NSString).appendingPathComponent(String(format: "checkpoint-%06d", step))
                try save(to: folder)
                report(.checkpoint(step: step, folder: folder))
            }
        }
    }

    /// One optimiser step over `gradientAccumulation` micro-batches of `batchSize` sequences per adapter.
    func trainStep() throws -> StepReport {
        let count = adapters.count
        var microBatches: [[(example: TrainingExample, adapter: Int)]] = []
        var targets = [Int](repeating: 0, count: count)
        for _ in 0..<options.gradientAccumulation {
            var examples: [(example: TrainingExample, adapter: Int)] = []
            for a in 0..<count {
                for _ in 0..<options.batchSize {
                    let example = datasets[a].train[streams[a].next()]
                    targets[a] += example.targetCount
                    examples.append((example, a))
                }
            }
            microBatches.append(examples)
        }
        for adapter in adapters { adapter.zeroGradients() }
        var sums = LossSums(adapterCount: count)
        var tokens = 0
        for examples in microBatches {
            var batch = try TrainingBatch(examples: examples, adapterCount: count)
            batch.normalize(byTargetCounts: targets)
            sums.add(try engine.accumulateGradients(batch))
            tokens += batch.tokenCount
        }
        let learningRate = options.schedule.rate(at: step)
        var norms: [Double] = []
        for (adapter, moment) in zip(adapters, moments) {
            norms.append(AdamW.clip(adapter.gradients, maxNorm: options.maxGradNorm))
            AdamW.update(
                parameters: adapter.parameters, gradients: adapter.gradients, state: moment, learningRate: learningRate, step: step + 1,
                options: options.adamW)
            try adapter.refreshNorms()  // DoRA's norms follow the new A and B (a constant within the next step)
        }
        return StepReport(
            step: step + 1, totalSteps: options.steps, losses: (0..<count).map { sums.mean($0) ?? 0 }, gradientNorms: norms,
            learningRate: learningRate, tokens: tokens, tokensPerSecond: 0, elapsedSeconds: 0, secondsLeft: 0)
    }

    /// Mean held-out cross-entropy per adapter over its first `evalSequences` held-out sequences.
    public func heldOutLosses() throws -> [Double?] {
        let examples = datasets.enumerated().flatMap { index, dataset in
            dataset.heldOut.prefix(options.evalSequences).map { (example: $0, adapter: index) }
        }
        let sums = try Evaluation.loss(engine: engine, examples: examples, sequencesPerBatch: options.batchSize * max(1, adapters.count))
        return (0..<adapters.count).map { sums.mean($0) }
    }

    /// Writes a checkpoint of the current state into `folder`.
    public func save(to folder: String) throws {
        let state = TrainerState(
            step: step, options: options,
            datasets: zip(datasets, streams).map { dataset, stream in
                TrainerState.DatasetPosition(
                    name: dataset.name, source: dataset.source, fingerprint: String(dataset.fingerprint, radix: 16),
                    epoch: stream.epoch, position: stream.position)
            },
            baseModel: baseModel)
        try Checkpoint.write(to: folder, adapters: adapters, moments: moments, state: state)
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }
}

/// Forward-only loss over many sequences, in minibatches.
public enum Evaluation {
    public static func loss(
        engine: GradientEngine, examples: [(example: TrainingExample, adapter: Int)], sequencesPerBatch: Int
    ) throws -> LossSums {
        var sums = LossSums(adapterCount: engine.adapters.count)
        var start = 0
        while start < examples.count {
            let chunk = Array(examples[start..<min(examples.count, start + max(1, sequencesPerBatch))])
            sums.add(try engine.loss(TrainingBatch(examples: chunk, adapterCount: engine.adapters.count)))
            start += chunk.count
        }
        return sums
    }
}
