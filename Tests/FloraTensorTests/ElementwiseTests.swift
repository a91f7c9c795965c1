// GPTBigCode's element-wise kernels (LayerNorm with bias, both GELU forms) against their
// formulas evaluated in Double.
import Foundation
import FloraTensor
import Testing

@Suite struct ElementwiseTests {
    @Test("LayerNorm equals (x − mean) / √(var + ε) · w + b per row, in place too", arguments: [1, 7, 64, 100])
    func layerNormMatchesItsFormula(count: Int) {
        var random = TestRandom(seed: UInt64(count))
        let rows = 3
        let x = random.tensor([rows, count]), weight = random.tensor([count]), bias = random.tensor([count])
        for i in 0..<x.count { x.pointer[i] = 3 * x.pointer[i] + 5 }  // an offset the mean must remove
        let expected = Tensor(zeros: [rows, count])
        for r in 0..<rows {
            let row = (0..<count).map { Double(x.pointer[r * count + $0]) }
            let mean = row.reduce(0, +) / Double(count)
            let variance = row.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(count)
            for i in 0..<count {
                let normalized = (row[i] - mean) / (variance + 1e-5).squareRoot()
                expected.pointer[r * count + i] = Float(normalized * Double(weight.pointer[i]) + Double(bias.pointer[i]))
            }
        }
        let y = Tensor(zeros: [rows, count])
        Elementwise.layerNorm(x.pointer, weight: weight.pointer, bias: bias.pointer, epsilon: 1e-5, rows: rows, count: count, into: y.pointer)
        #expect(relativeError(y, expected) < 1e-5)
        Elementwise.layerNorm(x.pointer, weight: weight.pointer, bias: bias.pointer, epsilon: 1e-5, rows: rows, count: count, into: x.pointer)
        #expect(relativeError(x, expected) < 1e-5)
    }

    @Test("GELU's exact and tanh forms equal their formulas", arguments: [Elementwise.GELU.exact, .tanh])
    func geluMatchesItsFormula(form: Elementwise.GELU) {
        let inputs = stride(from: -8.0, through: 8.0, by: 0.125).map { $0 }
        let x = Tensor(shape: [inputs.count], values: inputs.map(Float.init))
        Elementwise.gelu(x.pointer, count: x.count, form: form)
        for (i, v) in inputs.enumerated() {
            let expected = switch form {
            case .exact: 0.5 * v * (1 + erf(v / 2.0.squareRoot()))
            case .tanh: 0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
            }
            #expect(abs(Double(x.pointer[i]) - expected) <= 1e-6 * max(1, abs(expected)), "gelu(\(v)) = \(x.pointer[i]), expected \(expected)")
        }
        // The two forms differ (by 4.4e-4 at x = -2.5): a test that swapped them would fail.
        let other = Tensor(shape: [1], values: [-2.5])
        Elementwise.gelu(other.pointer, count: 1, form: form == .exact ? .tanh : .exact)
        let same = Tensor(shape: [1], values: [-2.5])
        Elementwise.gelu(same.pointer, count: 1, form: form)
        #expect(abs(other.pointer[0] - same.pointer[0]) > 3e-4)
    }
}
