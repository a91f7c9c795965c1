// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization"), in the arithmetic of
// PyTorch's `torch.optim.AdamW` (single-tensor path), and clipping by global gradient norm.

import FloraTensor

/// AdamW's hyper-parameters (the learning rate comes from the schedule at each step).
public struct AdamWOptions: Sendable, Equatable, Codable {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    /// Decoupled decay: every step multiplies the parameters by `1 − lr · weightDecay`.
    public var weightDecay: Float = 0

    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }
}

/// The moments of one parameter vector.
public final class AdamWState {
    /// `m`, `[count]`.
    public let firstMoment: FloatBuffer
    /// `v`, `[count]`.
    public let secondMoment: FloatBuffer

    public init(count: Int) {
        firstMoment = FloatBuffer(count: count)
        secondMoment = FloatBuffer(count: count)
    }

    public init(firstMoment: FloatBuffer, secondMoment: FloatBuffer) {
        self.firstMoment = firstMoment
        self.secondMoment = secondMoment
    }
}

public enum AdamW {
    /// Step number `step` (1 for the first) on `parameters` with `gradients`:
    ///
    ///     θ ← θ · (1 − lr·λ)
    ///     m ← β1 m + (1 − β1) g;   v ← β2 v + (1 − β2) g²
    ///     θ ← θ − (lr / (1 − β1^step)) · m / (√v / √(1 − β2^step) + ε)
    public static func update(
        parameters: FloatBuffer, gradients: FloatBuffer, state: AdamWState, learningRate lr: Float, step: Int, options o: AdamWOptions
    ) {
        precondition(step >= 1, "AdamW steps count from 1")
        let count = parameters.count
        let theta = parameters.pointer, g = gradients.pointer
        let m = state.firstMoment.pointer, v = state.secondMoment.pointer
        let correction1 = 1 - pow(Double(o.beta1), Double(step))
        let correction2 = 1 - pow(Double(o.beta2), Double(step))
        let stepSize = Float(Double(lr) / correction1)
        let correction2Root = Float(correction2.squareRoot())
        let decay = 1 - lr * o.weightDecay
        for i in 0..<count {
            if o.weightDecay != 0 { theta[i] *= decay }
            m[i] += (g[i] - m[i]) * (1 - o.beta1)
            v[i] = v[i] * o.beta2 + (1 - o.beta2) * g[i] * g[i]
            theta[i] -= stepSize * m[i] / (v[i].squareRoot() / correction2Root + o.epsilon)
        }
    }

    /// Scales `gradients` so that their L2 norm is at most `maxNorm` (PyTorch's
    /// `clip_grad_norm_`: factor `maxNorm / (norm + 1e-6)` when below 1). Returns the norm before.
    @discardableResult
    public static func clip(_ gradients: FloatBuffer, maxNorm: Float) -> Double {
        let g = gradients.pointer
        var sum = 0.0
        for i in 0..<gradients.count { sum += Double(g[i]) * Double(g[i]) }
        let norm = sum.squareRoot()
        let factor = Double(maxNorm) / (norm + 1e-6)
        if maxNorm > 0, factor < 1 {
            let f = Float(factor)
            for i in 0..<gradients.count { g[i] *= f }
        }
        return norm
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
