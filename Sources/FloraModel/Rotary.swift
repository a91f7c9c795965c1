// Rotary position embeddings in Hugging Face's convention (`rotate_half`: the pairs are
// (i, i + d/2)), with cos/sin tabulated once per model as HF computes them, in fp32.

import FloraTensor

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

struct RotaryTable: Sendable {
    let headDim: Int
    let maxPositions: Int
    let cos: FloatBuffer   // [maxPositions, headDim / 2]
    let sin: FloatBuffer   // [maxPositions, headDim / 2]

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

    /// Rotates `heads` consecutive head vectors of `headDim` floats at `position`, in place.
    func apply(_ x: UnsafeMutablePointer<Float>, heads: Int, position: Int) {
        let half = headDim / 2
        let c = cos.pointer + position * half
        let s = sin.pointer + position * half
        for h in 0..<heads {
            let v = x + h * headDim
            for i in 0..<half {
                let x1 = v[i], x2 = v[i + half]
                v[i] = x1 * c[i] - x2 * s[i]
                v[i + half] = x2 * c[i] + x1 * s[i]
            }
        }
    }
}
