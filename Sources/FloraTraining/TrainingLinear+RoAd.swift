// RoAd's part of the training linear layer (DESIGN.md section 1, as peft/tuners/road/layer.py):
// y = R (W x + b), where R rotates and scales the pairs (i, i + h) inside each group of outputs
// with f = α cos θ and s = α sin θ (RoadRotation). With zb = W x + b and i in a group's first half:
//
//     df[o]     += Σ_t dy[o] zb[o]
//     ds[i]     −= Σ_t dy[i] zb[i + h],   ds[i + h] += Σ_t dy[i + h] zb[i]
//     dα += df cos θ + ds sin θ,   dθ += −df α sin θ + ds α cos θ   (at each output's own indices)
//     dx  = Wᵀ Rᵀ dy

import FloraAdapters
import FloraTensor
import Foundation

extension TrainingLinear {
    /// `[2, n]`: f, then s, of the group's module from its current θ and α.
    func roadFactors(_ g: GroupModule, outputs n: Int) -> UnsafeMutablePointer<Float> {
        let m = g.module!, p = g.adapter!.parameters.pointer
        let theta = g.first(p), alpha = g.second(p)
        let factors = factorScratch.reserve(2 * n)
        for o in 0..<n {
            let (i, j) = RoadRotation.parameterIndices(m.roadVariant ?? .road1, groupSize: m.groupSize, output: o)
            factors[o] = alpha[i] * cos(theta[i])
            factors[n + o] = alpha[j] * sin(theta[j])
        }
        return factors
    }

    /// One token of a RoAd group: its gradient row `Rᵀ dy` into `row`, and the token's share of
    /// df and ds added into `roadFactorGradients` (zeroed by the caller for each group). `z` is
    /// the token's `W x` `[n]`, `factors` `roadFactors`'.
    func roadRowGradient(
        _ g: GroupModule, z: UnsafePointer<Float>, bias: Tensor?, dy: UnsafePointer<Float>, factors: UnsafePointer<Float>, outputs n: Int,
        into row: UnsafeMutablePointer<Float>
    ) {
        let groupSize = g.module!.groupSize, h = groupSize / 2
        let zb = outputRow.reserve(n)  // [n]: W x + b
        zb.update(from: z, count: n)
        if let bias { Elementwise.add(bias.pointer, into: zb, count: n) }
        let df = roadFactorGradients.pointer, ds = df + n
        TrainingKernels.addProduct(dy, zb, into: df, count: n)
        var start = 0
        while start < n {
            for i in start ..< start + h {
                ds[i] -= dy[i] * zb[i + h]
                ds[i + h] += dy[i + h] * zb[i]
            }
            start += groupSize
        }
        row.update(from: dy, count: n)
        RoadRotation.applyTransposed(first: factors, second: factors + n, groupSize: groupSize, outputs: n, to: row)
    }

    /// Adds the group's θ and α gradients from the df and ds its tokens accumulated.
    func roadParameterGradients(_ g: GroupModule, outputs n: Int) {
        let m = g.module!, p = g.adapter!.parameters.pointer, grad = g.adapter!.gradients.pointer
        let theta = g.first(p), alpha = g.second(p), dTheta = g.first(grad), dAlpha = g.second(grad)
        let df = roadFactorGradients.pointer, ds = df + n
        for o in 0..<n {
            let (i, j) = RoadRotation.parameterIndices(m.roadVariant ?? .road1, groupSize: m.groupSize, output: o)
            dAlpha[i] += df[o] * cos(theta[i])
            dTheta[i] -= df[o] * alpha[i] * sin(theta[i])
            dAlpha[j] += ds[o] * sin(theta[j])
            dTheta[j] += ds[o] * alpha[j] * cos(theta[j])
        }
    }
}
