// DoRA (weight-decomposed low-rank adaptation, Liu et al. 2024) as PEFT computes it with
// `use_dora: true` (peft/tuners/lora/dora.py, DESIGN.md section 1):
//
//     y = (m / n) ∘ (W x + s · B (A x)) + b,   n[o] = ‖W[o, :] + s · (B A)[o, :]‖₂
//
// The bias is not rescaled (PEFT subtracts it from the base result before scaling). `n` is a
// constant of the adapter and layer (PEFT detaches it from the gradient), so it is computed
// once here, from the base weight, and the per-token work is a LoRA delta plus one output scale.

import FloraTensor

/// DoRA's tensors of one linear layer, with what the batched kernels read precomputed.
public struct DoRAFactors: Sendable {
    /// A, B and the scale `s` as the adapter stores them.
    public let lora: LoRAFactors
    /// `m`, `[outputs]` (PEFT's `lora_magnitude_vector`).
    public let magnitude: Tensor
    /// `m / n`, `[outputs]`: the output scale of the token's row in the shared product.
    public let outputScale: Tensor
    /// The factors with B's rows multiplied by `m / n`, so that the LoRA kernels add
    /// `(m / n) ∘ s · B (A x)` unchanged.
    public let scaledDelta: LoRAFactors

    /// - Parameters: `baseWeight` is the layer's `W`, `[lora.outputs, lora.inputs]` row-major;
    ///   `magnitude` is `[lora.outputs]`.
    public init(lora: LoRAFactors, magnitude: [Float], baseWeight: Tensor) throws {
        let (n, k) = (lora.outputs, lora.inputs)
        guard baseWeight.shape == [n, k] else {
            throw AdapterError.invalidArgument(what: "DoRA base weight", expected: "shape [\(n), \(k)]", found: "shape \(baseWeight.shape)")
        }
        try self.init(lora: lora, magnitude: magnitude, norms: Self.rowNorms(lora, baseWeight: baseWeight))
    }

    /// With the norms `n` already known (`[lora.outputs]`, as `rowNorms` computes them): a trainer
    /// keeps them fixed between optimiser steps, as PEFT's detached norm is within one.
    public init(lora: LoRAFactors, magnitude: [Float], norms: [Double]) throws {
        let (n, k, r) = (lora.outputs, lora.inputs, lora.rank)
        guard magnitude.count == n else {
            throw AdapterError.invalidArgument(what: "DoRA magnitude", expected: "\(n) values (outputs of the layer)", found: "\(magnitude.count)")
        }
        guard norms.count == n else {
            throw AdapterError.invalidArgument(what: "DoRA norms", expected: "\(n) values (outputs of the layer)", found: "\(norms.count)")
        }
        var scale = [Float](repeating: 0, count: n)
        for o in 0..<n {
            guard norms[o] > 0, norms[o].isFinite else {
                throw AdapterError.invalidArgument(
                    what: "DoRA norm of output row \(o)", expected: "a positive finite ‖W + s·B A‖", found: "\(norms[o])")
            }
            scale[o] = Float(Double(magnitude[o]) / norms[o])
        }
        var b = lora.b()  // [n, r]
        for o in 0..<n {
            for j in 0..<r { b[o * r + j] *= scale[o] }
        }
        self.lora = lora
        self.magnitude = Tensor(shape: [n], values: magnitude)
        outputScale = Tensor(shape: [n], values: scale)
        scaledDelta = try LoRAFactors(
            rank: r, inputs: k, outputs: n, a: lora.a.toArray(), b: b, alpha: lora.alpha, useRSLoRA: lora.useRSLoRA)
    }

    /// `‖W[o, :] + s · (B A)[o, :]‖₂` for every output o, `[outputs]`, accumulated in double.
    /// `baseWeight` must be `[lora.outputs, lora.inputs]`.
    public static func rowNorms(_ lora: LoRAFactors, baseWeight: Tensor) -> [Double] {
        rowNorms(
            a: lora.a.pointer, bTransposed: lora.bTransposed.pointer, scale: lora.scale, rank: lora.rank, inputs: lora.inputs,
            outputs: lora.outputs, baseWeight: baseWeight.pointer)
    }

    /// The same from raw factors: `a` `[rank, inputs]`, `bTransposed` `[rank, outputs]` (row j is
    /// `B[:, j]`), `baseWeight` `[outputs, inputs]`, all row-major.
    public static func rowNorms(
        a: UnsafePointer<Float>, bTransposed bT: UnsafePointer<Float>, scale: Float, rank r: Int, inputs k: Int, outputs n: Int,
        baseWeight w: UnsafePointer<Float>
    ) -> [Double] {
        let s = Double(scale)
        var row = [Double](repeating: 0, count: k)  // W[o, :] + s · (B A)[o, :]
        return (0..<n).map { o in
            for p in 0..<k { row[p] = Double(w[o * k + p]) }
            for j in 0..<r {
                let bj = s * Double(bT[j * n + o])
                for p in 0..<k { row[p] += bj * Double(a[j * k + p]) }
            }
            return row.reduce(0) { $0 + $1 * $1 }.squareRoot()
        }
    }

    var byteCount: Int { lora.byteCount + scaledDelta.byteCount + 2 * lora.outputs * MemoryLayout<Float>.stride }
}
