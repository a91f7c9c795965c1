// DoRA's part of the training linear layer (DESIGN.md section 1, as peft/tuners/lora/dora.py):
//
//     y = (m / n) ∘ (W x + s · B (A x)) + b,   n = ‖W + s · B A‖ per output row
//
// PEFT detaches n, so the gradient treats it as a constant (the adapter recomputes it after each
// optimiser step, `TrainableAdapter.refreshNorms`): A and B get LoRA's gradients with the output
// gradient scaled by m / n, and m gets Σ_t dy ∘ (W x + s · B A x) / n.

import FloraAdapters
import FloraTensor

extension TrainingLinear {
    /// `[2, n]`: m / n, then 1 / n, of the group's module, from its current m and the adapter's norms.
    func doraFactors(_ g: GroupModule, outputs n: Int) -> UnsafeMutablePointer<Float> {
        let m = g.module!, adapter = g.adapter!
        let magnitude = g.magnitude(adapter.parameters.pointer)
        let factors = factorScratch.reserve(2 * n)
        adapter.norms.withUnsafeBufferPointer { all in
            let norms = all.baseAddress! + m.norms.lowerBound
            for o in 0..<n {
                factors[o] = Float(Double(magnitude[o]) / norms[o])  // as DoRAFactors' outputScale
                factors[n + o] = Float(1 / norms[o])
            }
        }
        return factors
    }

    /// One token of a DoRA group: its gradient row `(m / n) ∘ dy` (what LoRA's formulas and the
    /// input gradient read) into `row`, and m's gradient `dy ∘ (z + s · B u) / n` added.
    /// `z` is the token's `W x` `[n]`, `u` the capture's `A x` buffer, `factors` `doraFactors`'.
    func doraRowGradient(
        _ g: GroupModule, token t: Int, z: UnsafePointer<Float>, u: UnsafePointer<Float>, dy: UnsafePointer<Float>,
        factors: UnsafePointer<Float>, outputs n: Int, into row: UnsafeMutablePointer<Float>
    ) {
        let m = g.module!, p = g.adapter!.parameters.pointer, grad = g.adapter!.gradients.pointer
        let bT = g.second(p), ut = u + g.firstLoRA + (t - g.tokens.lowerBound) * m.rank
        let unscaled = outputRow.reserve(n)  // [n]: W x + s · B A x
        unscaled.update(from: z, count: n)
        for j in 0..<m.rank { Elementwise.addScaled(bT + j * n, alpha: m.scale * ut[j], into: unscaled, count: n) }
        Elementwise.multiply(unscaled, by: factors + n, count: n)  // / n
        TrainingKernels.addProduct(dy, unscaled, into: g.magnitude(grad), count: n)
        TrainingKernels.multiply(factors, dy, into: row, count: n)
    }
}
