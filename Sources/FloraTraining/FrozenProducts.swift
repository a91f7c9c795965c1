// The products with frozen base weights that the backward pass needs beyond the forward ones.

import FloraTensor

enum FrozenProducts {
    /// `dx = dy · W` (the input gradient of `y = x Wᵀ`): `dy` `[rows, W.outputs]`, `dx`
    /// `[rows, W.inputs]`, overwritten. As a plain loop:
    ///
    ///     for i in 0..<rows, p in 0..<k { dx[i·k + p] = Σ_j dy[i·n + j] · W[j, p] }
    ///
    /// TEMPORARY until FloraTensor's `MatMul.multiplyTransposedWeight` lands: Wᵀ is recovered
    /// with the forward product on the identity (`I · Wᵀ`), then multiplied naively. Correct, slow.
    static func inputGradient(_ dy: UnsafePointer<Float>, rows: Int, _ w: PackedMatrix, into dx: UnsafeMutablePointer<Float>) {
        let n = w.outputs, k = w.inputs
        guard rows > 0, k > 0 else { return }
        let identity = FloatBuffer(count: k * k)
        for p in 0..<k { identity.pointer[p * k + p] = 1 }
        let wT = FloatBuffer(count: k * n)  // [k, n]
        MatMul.multiply(identity.pointer, rows: k, w, into: wT.pointer)
        MatMulReference.multiply(dy, rows: rows, weight: wT.pointer, outputs: k, inputs: n, into: dx)
    }
}
