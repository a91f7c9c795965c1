// Element-wise kernels of the transformer: small, serial (a parallel region costs ~1.2 µs,
// more than most of these take; DESIGN.md section 9), SIMD16 over contiguous rows.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public enum Elementwise {
    /// `Σ_i a[i] · b[i]` over `count` floats.
    @inlinable
    public static func dot(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, count: Int) -> Float {
        var acc0 = SIMD16<Float>(), acc1 = SIMD16<Float>()
        var i = 0
        while i + 32 <= count {
            acc0.addProduct(loadUnaligned16(a + i), loadUnaligned16(b + i))
            acc1.addProduct(loadUnaligned16(a + i + 16), loadUnaligned16(b + i + 16))
            i += 32
        }
        if i + 16 <= count {
            acc0.addProduct(loadUnaligned16(a + i), loadUnaligned16(b + i))
            i += 16
        }
        var sum = (acc0 + acc1).sum()
        while i < count {
            sum += a[i] * b[i]
            i += 1
        }
        return sum
    }

    /// `y[i] += alpha · x[i]`.
    @inlinable
    public static func addScaled(_ x: UnsafePointer<Float>, alpha: Float, into y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        let a = SIMD16<Float>(repeating: alpha)
        while i + 16 <= count {
            store16(loadUnaligned16(y + i).addingProduct(a, loadUnaligned16(x + i)), y + i)
            i += 16
        }
        while i < count {
            y[i] += alpha * x[i]
            i += 1
        }
    }

    /// `y[i] += x[i]`.
    @inlinable
    public static func add(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 16 <= count {
            store16(loadUnaligned16(y + i) + loadUnaligned16(x + i), y + i)
            i += 16
        }
        while i < count {
            y[i] += x[i]
            i += 1
        }
    }

    /// `y[i] *= scale[i]`.
    @inlinable
    public static func multiply(_ y: UnsafeMutablePointer<Float>, by scale: UnsafePointer<Float>, count: Int) {
        var i = 0
        while i + 16 <= count {
            store16(loadUnaligned16(y + i) * loadUnaligned16(scale + i), y + i)
            i += 16
        }
        while i < count {
            y[i] *= scale[i]
            i += 1
        }
    }

    /// `y[i] = a[i] · b[i]`.
    @inlinable
    public static func multiply(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        var i = 0
        while i + 16 <= count {
            store16(loadUnaligned16(a + i) * loadUnaligned16(b + i), y + i)
            i += 16
        }
        while i < count {
            y[i] = a[i] * b[i]
            i += 1
        }
    }

    /// RMSNorm of each of `rows` rows (Llama): `y = x / sqrt(mean(x²) + eps) ∘ weight`.
    /// `x` and `y` are `[rows, count]`; they may be the same buffer. With `inverse` (`[rows]`),
    /// each row's `1 / sqrt(mean(x²) + eps)` is kept there too, for the backward pass.
    public static func rmsNorm(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, epsilon: Float,
        rows: Int, count: Int, into y: UnsafeMutablePointer<Float>, inverse inverses: UnsafeMutablePointer<Float>? = nil
    ) {
        for r in 0..<rows {
            let source = x + r * count
            let target = y + r * count
            let meanSquare = dot(source, source, count: count) / Float(count)
            let inverse = 1 / (meanSquare + epsilon).squareRoot()
            inverses?[r] = inverse
            let s = SIMD16<Float>(repeating: inverse)
            var i = 0
            while i + 16 <= count {
                store16(loadUnaligned16(source + i) * s * loadUnaligned16(weight + i), target + i)
                i += 16
            }
            while i < count {
                target[i] = source[i] * inverse * weight[i]
                i += 1
            }
        }
    }

    /// LayerNorm of each of `rows` rows (GPT-2, GPTBigCode): `y = (x - mean) / sqrt(var + eps) ∘ weight + bias`,
    /// with the biased variance over the row, as PyTorch's `layer_norm`. `x` and `y` are
    /// `[rows, count]`; they may be the same buffer. With `mean` and `inverse` (`[rows]`), each
    /// row's mean and `1 / sqrt(var + eps)` are kept there too, for the backward pass.
    public static func layerNorm(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, epsilon: Float,
        rows: Int, count: Int, into y: UnsafeMutablePointer<Float>,
        mean means: UnsafeMutablePointer<Float>? = nil, inverse inverses: UnsafeMutablePointer<Float>? = nil
    ) {
        for r in 0..<rows {
            let source = x + r * count
            let target = y + r * count
            var sum: Float = 0
            for i in 0..<count { sum += source[i] }
            let mean = sum / Float(count)
            var squares: Float = 0
            for i in 0..<count {
                let centred = source[i] - mean
                squares += centred * centred
            }
            let inverse = 1 / (squares / Float(count) + epsilon).squareRoot()
            means?[r] = mean
            inverses?[r] = inverse
            for i in 0..<count {
                target[i] = (source[i] - mean) * inverse * weight[i] + bias[i]
            }
        }
    }

    /// The forms of GELU transformers' `activation_function` names.
    public enum GELU: Sendable, Equatable {
        /// `x · Φ(x)` with the exact normal CDF: "gelu".
        case exact
        /// `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`: "gelu_pytorch_tanh", "gelu_new", "gelu_fast".
        case tanh
    }

    /// GELU in place over `count` floats.
    public static func gelu(_ x: UnsafeMutablePointer<Float>, count: Int, form: GELU) {
        switch form {
        case .exact:
            let inverseSqrt2 = Float(0.5).squareRoot()
            for i in 0..<count { x[i] = 0.5 * x[i] * (1 + erff(x[i] * inverseSqrt2)) }
        case .tanh:
            let c = (2 / Float.pi).squareRoot()
            for i in 0..<count {
                let v = x[i]
                x[i] = 0.5 * v * (1 + tanhf(c * (v + 0.044715 * v * v * v)))
            }
        }
    }

    /// SwiGLU's gate: `gate[i] = silu(gate[i]) · up[i]` with `silu(g) = g / (1 + e^-g)`.
    public static func siluMultiply(_ gate: UnsafeMutablePointer<Float>, _ up: UnsafePointer<Float>, count: Int) {
        for i in 0..<count {
            let g = gate[i]
            gate[i] = g / (1 + expf(-g)) * up[i]
        }
    }

    /// Numerically stable softmax in place over `count` floats, with the SIMD exponential of
    /// FastExp (relative error below 3e-7).
    public static func softmax(_ x: UnsafeMutablePointer<Float>, count: Int) {
        guard count > 0 else { return }
        var lanes = SIMD16<Float>(repeating: -.infinity)
        var i = 0
        while i + 16 <= count {
            lanes = pointwiseMax(lanes, loadUnaligned16(x + i))
            i += 16
        }
        var maximum = lanes.max()
        while i < count {
            maximum = max(maximum, x[i])
            i += 1
        }
        let shift = SIMD16<Float>(repeating: -maximum)
        var sums = SIMD16<Float>.zero
        i = 0
        while i + 16 <= count {
            let e = FastExp.exp16(loadUnaligned16(x + i) + shift)
            store16(e, x + i)
            sums += e
            i += 16
        }
        var sum = sums.sum()
        if i < count {
            let e = FastExp.exp16(loadUnaligned16(x + i, lanes: count - i) + shift)
            store16(e, x + i, lanes: count - i)
            for lane in 0..<(count - i) { sum += e[lane] }
        }
        let inverse = SIMD16<Float>(repeating: 1 / sum)
        i = 0
        while i + 16 <= count {
            store16(loadUnaligned16(x + i) * inverse, x + i)
            i += 16
        }
        while i < count {
            x[i] *= inverse[0]
            i += 1
        }
    }
}
