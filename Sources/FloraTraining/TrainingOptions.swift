// The hyper-parameters of one training run (stored in every checkpoint, so a resumed run
// continues with the same ones).

import FloraAdapters
import FloraFormats

public struct TrainingOptions: Sendable, Equatable, Codable {
    public var kind: AdapterKind
    /// fLoRA, LoRA and DoRA rank (IA3 and RoAd: 1).
    public var rank: Int
    public var targets: [TargetModule]
    /// LoRA's `lora_alpha` (scale `alpha / rank`); PEFT's default, 8.
    public var loraAlpha: Float? = 8
    /// RoAd's variant (nil: road_1, PEFT's default); its group size is the largest even divisor
    /// of every target's outputs up to PEFT's default 64.
    public var roadVariant: PEFTConfig.RoadVariant?
    /// fLoRA rank > 1: the noise that breaks the symmetry of the identity start (`A, B = 1 + noise·N(0,1)`).
    public var symmetryNoise: Float = 1e-3
    /// Optimiser steps of the whole run.
    public var steps: Int
    /// Sequences per adapter in each micro-batch.
    public var batchSize: Int = 8
    /// Tokens per sequence (packed windows; pairs are cut to it).
    public var sequenceLength: Int = 256
    /// Micro-batches per optimiser step.
    public var gradientAccumulation: Int = 1
    /// Peak learning rate; nil: `defaultLearningRate(kind)`.
    public var learningRate: Float?
    public var warmupSteps: Int = 10
    public var decay: LearningRateDecay = .cosine
    public var adamW = AdamWOptions()
    /// Clip each adapter's gradient to this global L2 norm (0: no clipping).
    public var maxGradNorm: Float = 1
    /// Evaluate the held-out loss every this many steps (0: only before and after).
    public var evalEvery: Int = 50
    /// Write a checkpoint every this many steps (0: only at the end).
    public var saveEvery: Int = 0
    /// Fraction of each dataset's sequences held out for evaluation.
    public var evalFraction: Double = 0.1
    /// At most this many held-out sequences per adapter are evaluated.
    public var evalSequences: Int = 32
    public var seed: UInt64 = 0

    public init(kind: AdapterKind, rank: Int = 1, targets: [TargetModule], steps: Int) {
        self.kind = kind
        self.rank = kind == .ia3 || kind == .road ? 1 : rank
        self.targets = targets
        self.steps = steps
    }

    /// Default peak learning rates: the best held-out loss after 30 steps of 512 tokens of Perl
    /// on SmolLM2-135M (rank 1 on q_proj,k_proj; IA3 on k,v,down) among fLoRA {3e-3, 1e-2, 3e-2},
    /// LoRA at PEFT's alpha 8 {1e-3, 3e-3} and IA3 {1e-2, 3e-2, 1e-1}. fLoRA's factors and IA3's
    /// vectors multiply the base weights and start at 1, so a step moves a weight by ~lr of
    /// itself; LoRA's `(alpha/r)·B·A` starts at 0 and its scale makes its steps larger — fLoRA
    /// needs the larger rate, as the fLoRA paper's appendix A reports.
    public static func defaultLearningRate(_ kind: AdapterKind) -> Float {
        switch kind {
        case .flora: 1e-2
        case .lora: 3e-3
        case .ia3, .road: 3e-2
        case .dora: 3e-3
        }
    }

    public var peakLearningRate: Float { learningRate ?? Self.defaultLearningRate(kind) }

    public var schedule: LearningRateSchedule {
        LearningRateSchedule(peak: peakLearningRate, warmupSteps: warmupSteps, totalSteps: steps, decay: decay)
    }

    public func validate() throws {
        func require(_ ok: Bool, _ message: String) throws { if !ok { throw TrainingError.invalidArgument(message) } }
        try require(TrainableAdapter.trainableKinds.contains(kind),
                    "--type \(kind.rawValue): training is implemented for \(TrainableAdapter.trainableKinds.map(\.rawValue).joined(separator: ", ")) adapters")
        try require(rank >= 1, "the rank must be at least 1, got \(rank)")
        try require(!targets.isEmpty, "give at least one target module")
        try require(steps >= 1, "the number of steps must be at least 1, got \(steps)")
        try require(batchSize >= 1, "the batch size must be at least 1, got \(batchSize)")
        try require(sequenceLength >= 2, "the sequence length must be at least 2, got \(sequenceLength)")
        try require(gradientAccumulation >= 1, "gradient accumulation must be at least 1, got \(gradientAccumulation)")
        try require(peakLearningRate > 0 && peakLearningRate.isFinite, "the learning rate must be positive, got \(peakLearningRate)")
        try require(warmupSteps >= 0, "warm-up steps cannot be negative, got \(warmupSteps)")
        try require(adamW.weightDecay >= 0, "weight decay cannot be negative, got \(adamW.weightDecay)")
        try require(maxGradNorm >= 0, "the gradient norm limit cannot be negative, got \(maxGradNorm)")
        try require(evalEvery >= 0 && saveEvery >= 0, "--eval-every and --save-every cannot be negative")
        try require(evalFraction >= 0 && evalFraction < 1, "the held-out fraction must be in [0, 1), got \(evalFraction)")
        try require(evalSequences >= 1, "at least one held-out sequence must be evaluated, got \(evalSequences)")
        if let loraAlpha { try require(loraAlpha.isFinite && loraAlpha > 0, "lora alpha must be positive, got \(loraAlpha)") }
    }
}
