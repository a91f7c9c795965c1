import ArgumentParser
import FloraAdapters
import FloraFormats
import FloraModel
import FloraTraining
import Foundation

struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Fine-tune fLoRA, LoRA, IA3, DoRA or RoAd adapters on a frozen base model; several at once in mixed batches.",
        discussion: """
            Each --data NAME=PATH trains one adapter; PATH is a text file, a folder (every file one document) or a \
            JSONL file of {"text": ...} or {"prompt": ..., "completion": ...} lines. The adapters are written as PEFT \
            folders OUT/NAME, with optimiser state beside them (OUT/trainer_state.json, OUT/optimizer.safetensors) \
            and OUT/log.jsonl. Default learning rates: fLoRA 1e-2, LoRA and DoRA 3e-3 (with lora_alpha 8), IA3 and RoAd 3e-2 \
            (fLoRA, IA3 and RoAd scale the base weights or outputs multiplicatively from 1 and need larger steps than LoRA's \
            additive update).
            """)

    @OptionGroup var modelOptions: ModelOptions

    @Option(name: .customLong("type"), help: "Adapter type: flora, lora, ia3, dora or road (default flora).")
    var kind: AdapterKind?

    @Option(help: "Rank of fLoRA, LoRA and DoRA adapters (default 1).")
    var rank: Int?

    @Option(name: .customLong("road-variant"), help: "RoAd's variant: road_1, road_2 or road_4 (default road_1, as PEFT).")
    var roadVariant: PEFTConfig.RoadVariant?

    @Option(help: "Comma-separated target modules (default q_proj,k_proj; IA3: k_proj,v_proj,down_proj).")
    var targets: String?

    @Option(help: "NAME=PATH: train adapter NAME on the data at PATH (repeat for several adapters trained together).")
    var data: [String] = []

    @Option(help: "Output folder: one PEFT folder per adapter, checkpoints and the log.")
    var out: String

    @Option(help: "Optimiser steps (default 200).")
    var steps: Int?

    @Option(help: "Sequences per adapter in each micro-batch (default 8).")
    var batchSize: Int?

    @Option(name: .customLong("seq-len"), help: "Tokens per training sequence (default 256, or the model's context length when shorter).")
    var sequenceLength: Int?

    @Option(name: .customLong("lr"), help: "Peak learning rate (default by type: fLoRA 1e-2, LoRA and DoRA 3e-3, IA3 and RoAd 3e-2).")
    var learningRate: Float?

    @Option(help: "Linear warm-up steps (default 10).")
    var warmup: Int?

    @Option(help: "Decay after warm-up: cosine, linear or constant (default cosine).")
    var decay: LearningRateDecay?

    @Option(name: .customLong("grad-accum"), help: "Micro-batches per optimiser step (default 1).")
    var gradientAccumulation: Int?

    @Option(help: "AdamW's decoupled weight decay (default 0).")
    var weightDecay: Float?

    @Option(help: "Clip each adapter's gradient to this L2 norm; 0 turns clipping off (default 1).")
    var maxGradNorm: Float?

    @Option(help: "LoRA's and DoRA's lora_alpha; the update is scaled by alpha / rank (default 8, as PEFT).")
    var loraAlpha: Float?

    @Option(help: "Evaluate the held-out loss every N steps; 0: only before and after (default 50).")
    var evalEvery: Int?

    @Option(help: "Write a checkpoint to OUT/checkpoint-<step> every N steps; 0: only at the end (default 0).")
    var saveEvery: Int?

    @Option(help: "Fraction of each dataset's sequences held out for evaluation, the last ones (default 0.1).")
    var evalFraction: Double?

    @Option(help: "Held-out sequences evaluated per adapter, at most (default 32).")
    var evalSequences: Int?

    @Option(help: "Continue the run saved in this folder (a checkpoint, or an output folder holding checkpoints).")
    var resume: String?

    @Option(help: "Seed of initialisation and data order (default 0).")
    var seed: UInt64?

    @Option(help: "MiB of activations kept through a step; a larger minibatch recomputes each layer in the backward pass.")
    var activationMemory: Int = 1024

    func validate() throws {
        if data.isEmpty { throw ValidationError("give at least one --data NAME=PATH") }
        if roadVariant != nil, let kind, kind != .road { throw ValidationError("--road-variant applies to --type road, not \(kind.rawValue)") }
    }

    func run() throws {
        // The frozen base computes exactly: the backward's products are fp32, and gradients should
        // be those of the forward that was run.
        let loaded = try ModelLoader.load(path: modelOptions.resolvedPath(), products: .exact)
        let model = try loaded.requireModel()
        let checkpoint = try resume.map { try Checkpoint.locate($0) }
        let options = try checkpoint.map { try resumedOptions(Checkpoint.readState($0).options) } ?? newOptions(shapes: model.adapterShapes, contextLength: model.dimensions.contextLength)
        try options.validate()

        let sources = try data.map(Self.parseData)
        let datasets = try sources.map { name, path in
            let dataset = try TrainingDataset.load(
                name: name, path: path, tokenizer: loaded.tokenizer, sequenceLength: options.sequenceLength, evalFraction: options.evalFraction)
            let tokens = dataset.train.reduce(0) { $0 + $1.tokens.count }
            var line = "flora: \(name): \(dataset.train.count) training sequences (\(tokens) tokens), \(dataset.heldOut.count) held out"
            if dataset.droppedPairs > 0 { line += ", \(dataset.droppedPairs) pairs dropped (nothing left to predict)" }
            printError(line)
            return dataset
        }
        let trainer: Trainer
        if let checkpoint {
            trainer = try Trainer(
                resumingFrom: checkpoint, model: model, datasets: datasets, outputDirectory: out, steps: steps, evalEvery: evalEvery,
                saveEvery: saveEvery)
            printError("flora: resuming \(checkpoint) at step \(trainer.step) of \(trainer.options.steps)")
            if trainer.step >= trainer.options.steps {
                printError("flora: the run is complete; pass a larger --steps to continue it")
                return
            }
        } else {
            trainer = try Trainer(model: model, datasets: datasets, options: options, outputDirectory: out, baseModel: loaded.name)
        }
        trainer.engine.activationBudgetBytes = activationMemory << 20
        let shape = options.kind == .road ? (options.roadVariant ?? .road1).rawValue : "rank \(options.rank)"
        printError("flora: training \(datasets.count) \(options.kind.rawValue) adapter(s), \(shape), on "
                   + options.targets.map(\.rawValue).joined(separator: ",") + ", peak learning rate \(options.peakLearningRate)")
        let bar = ProgressBar(title: "step", width: 24)
        defer { bar.finish() }
        try trainer.run { event in
            switch event {
            case .step(let r):
                let detail = String(
                    format: "loss %.4f | %.0f tok/s | lr %.2e | %@ left",
                    r.meanLoss, r.tokensPerSecond, Double(r.learningRate), ProgressBar.clock(r.secondsLeft))
                bar.update(completed: r.step, total: r.totalSteps, detail: detail)
            case .evaluation(let report):
                bar.clear()
                let parts = zip(report.names, report.losses).map { name, loss in
                    loss.map { String(format: "%@ %.4f (perplexity %.2f)", name, $0, exp($0)) } ?? "\(name) (no held-out data)"
                }
                printError("flora: step \(report.step) held-out loss: " + parts.joined(separator: ", "))
            case .checkpoint(let step, let folder):
                bar.clear()
                printError("flora: step \(step): saved \(folder)")
            }
        }
    }

    /// A fresh run's options from the command line and the defaults.
    private func newOptions(shapes: AdapterTargetShapes, contextLength: Int) throws -> TrainingOptions {
        let kind = self.kind ?? .flora
        var o = TrainingOptions(
            kind: kind, rank: rank ?? 1, targets: try targets.map(Self.parseTargets) ?? shapes.defaultTargets(for: kind), steps: steps ?? 200)
        o.roadVariant = kind == .road ? roadVariant ?? .road1 : nil
        o.batchSize = batchSize ?? o.batchSize
        o.sequenceLength = sequenceLength ?? min(o.sequenceLength, contextLength)
        o.learningRate = learningRate
        o.warmupSteps = warmup ?? o.warmupSteps
        o.decay = decay ?? o.decay
        o.gradientAccumulation = gradientAccumulation ?? o.gradientAccumulation
        o.adamW.weightDecay = weightDecay ?? o.adamW.weightDecay
        o.maxGradNorm = maxGradNorm ?? o.maxGradNorm
        o.loraAlpha = loraAlpha ?? o.loraAlpha
        o.evalEvery = evalEvery ?? o.evalEvery
        o.saveEvery = saveEvery ?? o.saveEvery
        o.evalFraction = evalFraction ?? o.evalFraction
        o.evalSequences = evalSequences ?? o.evalSequences
        o.seed = seed ?? o.seed
        return o
    }

    /// The checkpoint's options; options given again must agree with them (only --steps,
    /// --eval-every and --save-every may change when resuming).
    private func resumedOptions(_ saved: TrainingOptions) throws -> TrainingOptions {
        func check<T: Equatable>(_ given: T?, _ stored: T, _ flag: String) throws {
            if let given, given != stored { throw TrainingError.invalidArgument("--\(flag) \(given) differs from the checkpoint's \(stored); a resumed run keeps its options") }
        }
        try check(kind, saved.kind, "type")
        try check(rank, saved.rank, "rank")
        try check(roadVariant, saved.roadVariant ?? .road1, "road-variant")
        try check(try targets.map(Self.parseTargets), saved.targets, "targets")
        try check(batchSize, saved.batchSize, "batch-size")
        try check(sequenceLength, saved.sequenceLength, "seq-len")
        try check(learningRate, saved.peakLearningRate, "lr")
        try check(warmup, saved.warmupSteps, "warmup")
        try check(decay, saved.decay, "decay")
        try check(gradientAccumulation, saved.gradientAccumulation, "grad-accum")
        try check(weightDecay, saved.adamW.weightDecay, "weight-decay")
        try check(maxGradNorm, saved.maxGradNorm, "max-grad-norm")
        try check(loraAlpha, saved.loraAlpha ?? Float(saved.rank), "lora-alpha")
        try check(evalFraction, saved.evalFraction, "eval-fraction")
        try check(evalSequences, saved.evalSequences, "eval-sequences")
        try check(seed, saved.seed, "seed")
        return saved
    }

    static func parseTargets(_ text: String) throws -> [TargetModule] {
        do { return try TargetModule.parseList(text) } catch { throw ValidationError("--targets: \(error)") }
    }

    static func parseData(_ text: String) throws -> (name: String, path: String) {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw ValidationError("--data expects NAME=PATH, got '\(text)'")
        }
        return (String(text[..<equals]), String(text[text.index(after: equals)...]))
    }
}

extension LearningRateDecay: ExpressibleByArgument {}
extension PEFTConfig.RoadVariant: ExpressibleByArgument {}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
