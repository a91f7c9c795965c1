// Element-wise pieces of the training pass: the backward of RMSNorm and LayerNorm, SwiGLU and its
// backward, GELU's backward. The forward norms (keeping their statistics) and GELU are
// `Elementwise`'s, and rotary and its inverse are the model's `RotaryTable`, so training computes
// exactly what serving does.
// Each states its semantics as a plain loop; they are serial (DESIGN.md section 9: element-wise
// work is too small to repay a parallel region).

import FloraTensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Public so that tests can check each against its naive reference.
public enum TrainingKernels {
    /// Adds the input gradient of `Elementwise.rmsNorm` to `dx`: with `g = dy ∘ w` and `s = inverse[r]`,
    ///
    ///     dx[r, i] += s · g[i] − (s³ / count) · x[r, i] · Σ_j g[j] · x[r, j]
    public static func rmsNormBackward(
        _ dy: UnsafePointer<Float>, x: UnsafePointer<Float>, weight w: UnsafePointer<Float>, inverse: UnsafePointer<Float>,
        rows: Int, count: Int, addingInto dx: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let g = dy + r * count, xr = x + r * count, target = dx + r * count
            var dot = 0.0
            for i in 0..<count { dot += Double(g[i] * w[i]) * Double(xr[i]) }
            let s = inverse[r]
            let c = Float(Double(s * s * s) * dot / Double(count))
            for i in 0..<count { target[i] += s * g[i] * w[i] - c * xr[i] }
        }
    }

    /// Adds the input gradient of `Elementwise.layerNorm` (weight and bias frozen) to `dx`: with
    /// `s = inverse[r]`, `n = (x[r] − mean[r]) · s` and `g = dy ∘ w`,
    ///
    ///     dx[r, i] += s · (g[i] − mean_j(g[j]) − n[i] · mean_j(g[j] · n[j]))
    ///
    /// (`mean[r]`, `inverse[r]` as the forward kept them; the bias does not enter.)
    public static func layerNormBackward(
        _ dy: UnsafePointer<Float>, x: UnsafePointer<Float>, weight w: UnsafePointer<Float>, mean: UnsafePointer<Float>,
        inverse: UnsafePointer<Float>, rows: Int, count: Int, addingInto dx: UnsafeMutablePointer<Float>
    ) {
        for r in 0..<rows {
            let g = dy + r * count, xr = x + r * count, target = dx + r * count
            let mu = mean[r], s = inverse[r]
            var sumG = 0.0, sumGN = 0.0
            for i in 0..<count {
                let gi = Double(g[i] * w[i])
                sumG += gi
                sumGN += gi * Double((xr[i] - mu) * s)
            }
            let meanG = Float(sumG / Double(count)), meanGN = Float(sumGN / Double(count))
            for i in 0..<count { target[i] += s * (g[i] * w[i] - meanG - (xr[i] - mu) * s * meanGN) }
        }
    }

    /// The gradient of `Elementwise.gelu` at the pre-activation `x`: `dx[i] = dy[i] · gelu'(x[i])`,
    /// with `gelu'(x) = Φ(x) + x φ(x)` (exact) or, for `0.5 x (1 + tanh u)`, `u = c (x + 0.044715 x³)`,
    /// `c = √(2/π)`: `gelu'(x) = 0.5 (1 + tanh u) + 0.5 x (1 − tanh² u) c (1 + 3 · 0.044715 x²)`.
    /// `dx` may alias `dy`.
    public static func geluBackward(
        _ dy: UnsafePointer<Float>, preActivation x: UnsafePointer<Float>, count: Int, form: Elementwise.GELU,
        into dx: UnsafeMutablePointer<Float>
    ) {
        switch form {
        case .exact:
            let inverseSqrt2 = Float(0.5).squareRoot(), inverseSqrt2Pi = 1 / (2 * Float.pi).squareRoot()
            for i in 0..<count {
                let v = x[i]
                dx[i] = dy[i] * (0.5 * (1 + erff(v * inverseSqrt2)) + v * inverseSqrt2Pi * expf(-0.5 * v * v))
            }
        case .tanh:
            let c = (2 / Float.pi).squareRoot()
            for i in 0..<count {
                let v = x[i]
                let t = tanhf(c * (v + 0.044715 * v * v * v))
                dx[i] = dy[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * c * (1 + 3 * 0.044715 * v * v))
            }
        }
    }

    /// `act[i] = silu(gate[i]) · up[i]`, `silu(g) = g / (1 + e^−g)`.
    static func swiGLU(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int, into act: UnsafeMutablePointer<Float>) {
        forEachBlock(count) { i, lanes in
            let g = loadUnaligned16(gate + i, lanes: lanes)
            store16(g / (1 + FastExp.exp16(-g)) * loadUnaligned16(up + i, lanes: lanes), act + i, lanes: lanes)
        }
    }

    /// The gradients of `swiGLU`: `dGate = dAct · up · silu'(gate)` with
    /// `silu'(g) = σ(g) (1 + g (1 − σ(g)))`, `dUp = dAct · silu(gate)`. `dGate` may alias `dAct`.
    static func swiGLUBackward(
        _ dAct: UnsafePointer<Float>, gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int,
        dGate: UnsafeMutablePointer<Float>, dUp: UnsafeMutablePointer<Float>
    ) {
        forEachBlock(count) { i, lanes in
            let g = loadUnaligned16(gate + i, lanes: lanes), d = loadUnaligned16(dAct + i, lanes: lanes)
            let sigma = 1 / (1 + FastExp.exp16(-g))
            store16(d * g * sigma, dUp + i, lanes: lanes)
            store16(d * loadUnaligned16(up + i, lanes: lanes) * sigma * (1 + g * (1 - sigma)), dGate + i, lanes: lanes)
        }
    }

    /// Calls `body(i, lanes)` for `i = 0, 16, 32, ...` with `lanes = min(16, count − i)`.
    @inline(__always)
    static func forEachBlock(_ count: Int, _ body: (Int, Int) -> Void) {
        var i = 0
        while i < count {
            body(i, min(16, count - i))
            i += 16
        }
    }

    /// `y[i] = alpha · a[i] · b[i]`.
    @inline(__always)
    static func multiply(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, alpha: Float = 1, into y: UnsafeMutablePointer<Float>, count: Int
    ) {
        var i = 0
        let s = SIMD16<Float>(repeating: alpha)
        while i + 16 <= count {
            store16(loadUnaligned16(a + i) * loadUnaligned16(b + i) * s, y + i)
            i += 16
        }
        while i < count {
            y[i] = alpha * a[i] * b[i]
            i += 1
        }
    }

    /// `y[i] += alpha · a[i] · b[i]`.
    @inline(__always)
    static func addProduct(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, alpha: Float = 1, into y: UnsafeMutablePointer<Float>, count: Int
    ) {
        var i = 0
        let s = SIMD16<Float>(repeating: alpha)
        while i + 16 <= count {
            let p = loadUnaligned16(a + i) * loadUnaligned16(b + i)
            store16(loadUnaligned16(y + i).addingProduct(s, p), y + i)
            i += 16
        }
        while i < count {
            y[i] += alpha * a[i] * b[i]
            i += 1
        }
    }
}
