// Rotary position embeddings in Hugging Face's convention (`rotate_half`: the pairs are
// (i, i + d/2)), with cos/sin tabulated once per model as HF computes them, in fp32.

import FloraTensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// For position p and pair i < headDim/2: `cos[p · headDim/2 + i]`, `sin[p · headDim/2 + i]`.
public struct RotaryTable: Sendable {
    public let headDim: Int
    public let maxPositions: Int
    public let cos: FloatBuffer   // [maxPositions, headDim / 2]
    public let sin: FloatBuffer   // [maxPositions, headDim / 2]

    init(headDim: Int, theta: Float, scaling: RopeScaling, maxPositions: Int) {
        self.headDim = headDim
        self.maxPositions = maxPositions
        let half = headDim / 2
        cos = FloatBuffer(count: maxPositions * half)
        sin = FloatBuffer(count: maxPositions * half)
        // HF: inv_freq = 1 / theta^(arange(0, d, 2) / d) in fp32, angle = position · inv_freq in fp32.
        let inverseFrequency = scaling.scale((0..<half).map { i in 1 / powf(theta, Float(2 * i) / Float(headDim)) })
        for position in 0..<maxPositions {
            for i in 0..<half {
                let angle = Float(position) * inverseFrequency[i]
                cos.pointer[position * half + i] = cosf(angle)
                sin.pointer[position * half + i] = sinf(angle)
            }
        }
    }

    /// Rotates `heads` consecutive head vectors of `headDim` floats at `position`, in place:
    /// `(x1, x2) → (x1 c − x2 s, x2 c + x1 s)` for the pairs `(i, i + d/2)`.
    public func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, position: Int) {
        rotate(x, heads: heads, position: position, sineSign: 1)
    }

    /// The inverse rotation (the transpose, by −θ), which the backward pass applies to
    /// gradients: `(y1, y2) → (y1 c + y2 s, y2 c − y1 s)`.
    public func applyInverse(_ x: UnsafeMutablePointer<Float>, heads: Int, position: Int) {
        rotate(x, heads: heads, position: position, sineSign: -1)
    }

    /// Rotation by θ or, with `sineSign` −1, by −θ (sin(−θ) = −sin θ; negation is exact, so
    /// both directions round as their own formulas would).
    @inline(__always)
    private func rotate(_ x: UnsafeMutablePointer<Float>, heads: Int, position: Int, sineSign: Float) {
        let half = headDim / 2
        let c = cos.pointer + position * half
        let s = sin.pointer + position * half
        for h in 0..<heads {
            let v = x + h * headDim
            for i in 0..<half {
                let x1 = v[i], x2 = v[i + half], sine = sineSign * s[i]
                v[i] = x1 * c[i] - x2 * sine
                v[i + half] = x2 * c[i] + x1 * sine
            }
        }
    }
}
