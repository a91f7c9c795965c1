// The products with frozen base weights that the backward pass needs beyond the forward ones.

import FloraTensor

enum FrozenProducts {
    /// `dx = dy · W` (the input gradient of `y = x Wᵀ`): `dy` `[rows, W.outputs]`, `dx`
    /// `[rows, W.inputs]`, overwritten — FloraTensor's `MatMul.multiplyTransposedWeight` on the
    /// packed weight the forward uses (no second copy of W).
    @inline(__always)
    static func inputGradient(_ dy: UnsafePointer<Float>, rows: Int, _ w: PackedMatrix, into dx: UnsafeMutablePointer<Float>) {
        MatMul.multiplyTransposedWeight(dy, rows: rows, w, into: dx)
    }
}
