// The learning rate of every optimiser step: linear warm-up, then cosine or linear decay.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum LearningRateDecay: String, Sendable, Codable, CaseIterable {
    case cosine
    case linear
    case constant
}

public struct LearningRateSchedule: Sendable, Equatable, Codable {
    public var peak: Float
    public var warmupSteps: Int
    public var totalSteps: Int
    public var decay: LearningRateDecay

    public init(peak: Float, warmupSteps: Int, totalSteps: Int, decay: LearningRateDecay = .cosine) {
        self.peak = peak
        self.warmupSteps = warmupSteps
        self.totalSteps = totalSteps
        self.decay = decay
    }

    /// The rate of step `step` (0 for the first): `peak · (step + 1) / warmup` during warm-up (so
    /// the first step already moves), then with `progress = (step − warmup) / (total − warmup)`
    /// in [0, 1): cosine `peak · ½ (1 + cos(π · progress))`, linear `peak · (1 − progress)`.
    public func rate(at step: Int) -> Float {
        if step < warmupSteps { return peak * Float(step + 1) / Float(warmupSteps) }
        let progress = Double(step - warmupSteps) / Double(max(1, totalSteps - warmupSteps))
        switch decay {
        case .constant: return peak
        case .linear: return peak * Float(max(0, 1 - progress))
        case .cosine: return peak * Float(0.5 * (1 + cos(Double.pi * min(progress, 1))))
        }
    }
}
