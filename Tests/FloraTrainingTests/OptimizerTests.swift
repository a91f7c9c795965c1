// AdamW against a hand computation of PyTorch's arithmetic; clipping; the learning-rate schedule.

import FloraTensor
import FloraTraining
import Foundation
import Testing

@Suite struct OptimizerTests {
    @Test("AdamW steps equal a hand computation with bias correction and decoupled weight decay")
    func adamWMatchesHandComputation() {
        let parameters = FloatBuffer([0.5, -1, 2, 0])
        let gradients: [[Float]] = [[0.1, -0.2, 0.3, 0], [-0.05, 0.4, 0.3, 1e-3], [0.2, 0.1, -0.6, -2]]
        let options = AdamWOptions(beta1: 0.9, beta2: 0.99, epsilon: 1e-8, weightDecay: 0.1)
        let lr: Float = 0.05
        let state = AdamWState(count: 4)
        // By hand, in double: θ ← θ(1 − lr λ); m ← β1 m + (1−β1) g; v ← β2 v + (1−β2) g²;
        // θ ← θ − lr/(1−β1^t) · m / (√v/√(1−β2^t) + ε).
        var theta = [0.5, -1.0, 2.0, 0.0], m = [Double](repeating: 0, count: 4), v = m
        for (index, g) in gradients.enumerated() {
            let t = Double(index + 1)
            let buffer = FloatBuffer(g)
            AdamW.update(parameters: parameters, gradients: buffer, state: state, learningRate: lr, step: index + 1, options: options)
            for i in 0..<4 {
                theta[i] *= 1 - 0.05 * 0.1
                m[i] = 0.9 * m[i] + 0.1 * Double(g[i])
                v[i] = 0.99 * v[i] + 0.01 * Double(g[i]) * Double(g[i])
                theta[i] -= 0.05 / (1 - pow(0.9, t)) * m[i] / (v[i].squareRoot() / (1 - pow(0.99, t)).squareRoot() + 1e-8)
            }
            for i in 0..<4 {
                #expect(abs(Double(parameters.pointer[i]) - theta[i]) <= 1e-6, "step \(index + 1), parameter \(i)")
                #expect(abs(Double(state.firstMoment.pointer[i]) - m[i]) <= 1e-6 * abs(m[i]) + 1e-12)
                #expect(abs(Double(state.secondMoment.pointer[i]) - v[i]) <= 1e-6 * abs(v[i]) + 1e-12)
            }
        }
    }

    @Test("Clipping scales a gradient down to the global norm and leaves a small one alone")
    func clippingByGlobalNorm() {
        let large = FloatBuffer([3, 4])
        #expect(abs(AdamW.clip(large, maxNorm: 1) - 5) < 1e-9)
        #expect(abs(large.pointer[0] - 0.6) < 1e-6 && abs(large.pointer[1] - 0.8) < 1e-6)
        let small = FloatBuffer([0.3, 0.4])
        #expect(abs(AdamW.clip(small, maxNorm: 1) - 0.5) < 1e-7)
        #expect(small.toArray() == [0.3, 0.4])
    }

    @Test("The schedule warms up linearly, then decays by a cosine or a line")
    func schedule() {
        let cosine = LearningRateSchedule(peak: 1, warmupSteps: 4, totalSteps: 14, decay: .cosine)
        #expect(cosine.rate(at: 0) == 0.25)
        #expect(cosine.rate(at: 3) == 1)
        #expect(cosine.rate(at: 4) == 1)
        #expect(abs(cosine.rate(at: 9) - 0.5) < 1e-6)
        #expect(cosine.rate(at: 13) > 0 && cosine.rate(at: 13) < 0.03)
        let linear = LearningRateSchedule(peak: 2, warmupSteps: 0, totalSteps: 10, decay: .linear)
        #expect(linear.rate(at: 0) == 2)
        #expect(abs(linear.rate(at: 5) - 1) < 1e-6)
        #expect(abs(linear.rate(at: 9) - 0.2) < 1e-6)
    }
}
