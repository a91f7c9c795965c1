// The training pass's element-wise backward kernels against naive references in double: the
// norms' input gradients against their explicit Jacobians, GELU's derivative against central
// differences of GELU itself.

import FloraTensor
import FloraTraining
import Foundation
import Testing

@Suite struct TrainingKernelTests {
    static func random(_ count: Int, _ generator: inout SeededGenerator, mean: Float = 0, spread: Float = 1) -> [Float] {
        (0..<count).map { _ in mean + spread * generator.nextGaussian() }
    }

    /// `dx[i] = Σ_j dy[j] · ∂y[j]/∂x[i]` with the Jacobian of `y = (x − μ)/σ ∘ w + b` written out:
    /// `∂y[j]/∂x[i] = w[j] · (δᵢⱼ − 1/N − n[i] n[j] / N) / σ`, all in double.
    static func layerNormInputGradient(_ x: [Float], _ w: [Float], _ dy: [Float], epsilon: Double) -> [Double] {
        let n = x.count
        let mean = x.reduce(0.0) { $0 + Double($1) } / Double(n)
        let variance = x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(n)
        let sigma = (variance + epsilon).squareRoot()
        let normed = x.map { (Double($0) - mean) / sigma }
        return (0..<n).map { i in
            (0..<n).reduce(0.0) { sum, j in
                let jacobian = Double(w[j]) * ((i == j ? 1 : 0) - 1 / Double(n) - normed[i] * normed[j] / Double(n)) / sigma
                return sum + Double(dy[j]) * jacobian
            }
        }
    }

    /// The same for RMSNorm, `y = x / rms ∘ w`: `∂y[j]/∂x[i] = w[j] · (δᵢⱼ − x[i] x[j] / (N rms²)) / rms`.
    static func rmsNormInputGradient(_ x: [Float], _ w: [Float], _ dy: [Float], epsilon: Double) -> [Double] {
        let n = x.count
        let rms = (x.reduce(0.0) { $0 + Double($1) * Double($1) } / Double(n) + epsilon).squareRoot()
        return (0..<n).map { i in
            (0..<n).reduce(0.0) { sum, j in
                let jacobian = Double(w[j]) * ((i == j ? 1 : 0) - Double(x[i]) * Double(x[j]) / (Double(n) * rms * rms)) / rms
                return sum + Double(dy[j]) * jacobian
            }
        }
    }

    /// Compares `actual` (what the kernel added to a gradient that held `before`) with `expected`.
    static func expectClose(_ actual: [Float], before: [Float], _ expected: [Double], _ what: String) {
        let scale = expected.map { abs($0) }.max()!
        let difference = zip(zip(actual, before), expected).map { abs(Double($0.0 - $0.1) - $1) }.max()!
        #expect(scale > 0)
        #expect(difference <= 2e-5 * scale, "\(what): max difference \(difference) of max \(scale)")
    }

    @Test("LayerNorm's input gradient equals its explicit Jacobian", arguments: [(3, 5), (2, 16), (4, 67)])
    func layerNormBackwardMatchesJacobian(rows: Int, count: Int) {
        var generator = SeededGenerator(seed: UInt64(rows * 100 + count))
        // An offset mean checks that the kept mean is subtracted; the added gradient, that it adds.
        let x = Self.random(rows * count, &generator, mean: 3, spread: 2), w = Self.random(count, &generator, mean: 1, spread: 0.3)
        let bias = Self.random(count, &generator), dy = Self.random(rows * count, &generator)
        let before = Self.random(rows * count, &generator)
        var y = [Float](repeating: 0, count: rows * count), mean = [Float](repeating: 0, count: rows), inverse = mean
        Elementwise.layerNorm(x, weight: w, bias: bias, epsilon: 1e-5, rows: rows, count: count, into: &y, mean: &mean, inverse: &inverse)
        var dx = before
        TrainingKernels.layerNormBackward(dy, x: x, weight: w, mean: mean, inverse: inverse, rows: rows, count: count, addingInto: &dx)
        for r in 0..<rows {
            let row = r * count..<(r + 1) * count
            let expected = Self.layerNormInputGradient(Array(x[row]), w, Array(dy[row]), epsilon: 1e-5)
            Self.expectClose(Array(dx[row]), before: Array(before[row]), expected, "row \(r)")
        }
    }

    @Test("RMSNorm's input gradient equals its explicit Jacobian", arguments: [(3, 5), (4, 67)])
    func rmsNormBackwardMatchesJacobian(rows: Int, count: Int) {
        var generator = SeededGenerator(seed: UInt64(rows * 100 + count))
        let x = Self.random(rows * count, &generator, mean: 0.5), w = Self.random(count, &generator, mean: 1, spread: 0.3)
        let dy = Self.random(rows * count, &generator), before = Self.random(rows * count, &generator)
        var y = [Float](repeating: 0, count: rows * count), inverse = [Float](repeating: 0, count: rows)
        Elementwise.rmsNorm(x, weight: w, epsilon: 1e-5, rows: rows, count: count, into: &y, inverse: &inverse)
        var dx = before
        TrainingKernels.rmsNormBackward(dy, x: x, weight: w, inverse: inverse, rows: rows, count: count, addingInto: &dx)
        for r in 0..<rows {
            let row = r * count..<(r + 1) * count
            let expected = Self.rmsNormInputGradient(Array(x[row]), w, Array(dy[row]), epsilon: 1e-5)
            Self.expectClose(Array(dx[row]), before: Array(before[row]), expected, "row \(r)")
        }
    }

    /// GELU in double: `x Φ(x)` or `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`.
    static func gelu(_ x: Double, _ form: Elementwise.GELU) -> Double {
        switch form {
        case .exact: 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
        case .tanh: 0.5 * x * (1 + tanh((2 / Double.pi).squareRoot() * (x + 0.044715 * x * x * x)))
        }
    }

    @Test("GELU's backward equals central differences of GELU, in both forms", arguments: [Elementwise.GELU.exact, .tanh])
    func geluBackwardMatchesDifferences(form: Elementwise.GELU) {
        var generator = SeededGenerator(seed: 4)
        let x = stride(from: Float(-6), through: 6, by: 0.05).map { $0 } + Self.random(200, &generator, spread: 2)
        let dy = Self.random(x.count, &generator)
        // The reference is GELU itself: the forward kernel agrees with it first.
        var forward = x
        Elementwise.gelu(&forward, count: x.count, form: form)
        for (v, y) in zip(x, forward) { #expect(abs(Double(y) - Self.gelu(Double(v), form)) <= 1e-6 * max(1, abs(Double(v))), "gelu(\(v))") }
        var dx = [Float](repeating: 0, count: x.count)
        TrainingKernels.geluBackward(dy, preActivation: x, count: x.count, form: form, into: &dx)
        var aliased = dy  // the engine passes one buffer as dy and dx
        aliased.withUnsafeMutableBufferPointer { p in
            TrainingKernels.geluBackward(p.baseAddress!, preActivation: x, count: x.count, form: form, into: p.baseAddress!)
        }
        #expect(aliased == dx)
        let h = 1e-4
        for i in x.indices {
            let v = Double(x[i])
            let derivative = (Self.gelu(v + h, form) - Self.gelu(v - h, form)) / (2 * h)
            let expected = Double(dy[i]) * derivative
            #expect(abs(Double(dx[i]) - expected) <= 1e-5 * max(1, abs(Double(dy[i]))), "x \(v): \(dx[i]) against \(expected)")
        }
    }
}
