// The two batched LoRA kernels of DESIGN.md section 1: gather-bmm (the fLoRA paper's baseline,
// its appendix B.1) and segmented (Punica's SGMV). Both add, for every token t whose adapter is a
// LoRA (or DoRA, whose B carries m / n) on this (layer, module), the delta `s · B (A x[t])` into `y[t]`; as a plain loop:
//
//     for t where adapter(t) is LoRA (A [r, k], B [n, r], scale s):
//         for j < r: u[j] = Σ_p A[j, p] · x[t, p]
//         for o < n: y[t, o] += s · Σ_j B[o, j] · u[j]
//
// The naive reference is the LoRA case of `AdapterReference.linear`.

import FloraTensor

/// Gather-bmm splits its tokens over the cores above this many flops (a parallel region costs
/// up to a microsecond, DESIGN.md section 9): a threshold of its own, five times the matrix
/// products' `ParallelRegion.minimumParallelFlops`, as this baseline has always used.
private let bmmParallelFlops = 1_000_000

extension AdapterBank {
    /// Gather-bmm: each token gathers its own `A` and `Bᵀ` (by pointer) and applies them as two
    /// SIMD matrix-vector products, `u = A x[t]` then `y[t] += s · Σ_j u[j] Bᵀ[j, :]`. No weight is
    /// reused across tokens of the same adapter: that is the baseline's cost model.
    func addLoRAGatherBMM(
        _ resolved: UnsafePointer<ResolvedModule>, input x: UnsafePointer<Float>, tokens: Int, inputs k: Int, outputs n: Int, output y: UnsafeMutablePointer<Float>) {
        var largestRank = 1, flops = 0
        for t in 0..<tokens {
            let g = Int(plan.tokenGroup[t])
            guard g >= 0, resolved[g].addsLoRADelta else { continue }
            largestRank = max(largestRank, resolved[g].rank)
            flops += 2 * resolved[g].rank * (k + n)
        }
        let maxRank = largestRank
        let parts = ParallelRegion.parts(for: .automatic, flops: flops, maximumParts: tokens, automaticThreshold: bmmParallelFlops)
        let u = SendablePointer(loraIntermediate.reserve(parts * maxRank))  // [parts, maxRank]
        let groupOf = SendablePointer(plan.tokenGroup.pointer)
        let modules = SendablePointer(resolved)
        let x = SendablePointer(x), y = SendablePointer(y)
        let work: @Sendable (Int) -> Void = { part in
            let u = u.pointer + part * maxRank
            for t in (tokens * part / parts)..<(tokens * (part + 1) / parts) {
                let g = Int(groupOf.pointer[t])
                guard g >= 0 else { continue }
                let m = modules.pointer[g]
                guard m.addsLoRADelta, let a = m.a, let bT = m.bT else { continue }
                let xt = UnsafePointer(x.pointer + t * k), yt = y.pointer + t * n
                for j in 0..<m.rank { u[j] = Elementwise.dot(a + j * k, xt, count: k) }
                for j in 0..<m.rank { Elementwise.addScaled(bT + j * n, alpha: m.scale * u[j], into: yt, count: n) }
            }
        }
        ParallelRegion.run(parts: parts, work)
    }

    /// Segmented (SGMV): per LoRA group of tokens, one shrink product `U = X_g Aᵀ`
    /// (`[tokens of g, r]`) and one expand product `y[t] += s · (U Bᵀ)[i]`, both through
    /// FloraTensor's kernels. The expanded product's row indices do the gather and the scatter,
    /// so no token row is copied here; a group of consecutive tokens (a prefill chunk) shrinks
    /// with the plain product straight from `x`.
    func addLoRASegmented(
        _ resolved: UnsafePointer<ResolvedModule>, layer: Int, module: TargetModule, input x: UnsafePointer<Float>, inputs k: Int, outputs n: Int,
        output y: UnsafeMutablePointer<Float>
    ) {
        for g in 0..<plan.groupCount where resolved[g].addsLoRADelta {
            let factors: LoRAFactors
            switch resident[Int(plan.groupSlot[g])]?.module(layer: layer, module) {
            case .lora(let f): factors = f
            case .dora(let d): factors = d.scaledDelta  // B rows already carry DoRA's m / n
            default: continue
            }
            let members = plan.range(of: g)
            addLoRADelta(factors, rows: plan.order.pointer + members.lowerBound, count: members.count, input: x, inputs: k, output: y)
        }
    }

    /// `y[rows[i]] += s · B (A x[rows[i]])` for the `count` ascending row indices `rows`: one shrink
    /// product `U = X_rows Aᵀ` (`[count, r]`) and one expand product, gathered and scattered by the
    /// expanded product's row indices (no row copied); consecutive rows shrink with the plain
    /// product straight from `x`. Shared by the segmented kernel and the head's LoRA delta.
    func addLoRADelta(
        _ factors: LoRAFactors, rows tokenIndex: UnsafePointer<Int32>, count: Int, input x: UnsafePointer<Float>, inputs k: Int,
        output y: UnsafeMutablePointer<Float>
    ) {
        let r = factors.rank
        let u = loraIntermediate.reserve(count * r)  // [count, r]
        loraRows.reserve(count)
        let rows = loraRows.expansion(count: count)
        rows.inputScale.update(repeating: nil, count: count)
        rows.outputScale.update(repeating: nil, count: count)

        // Shrink: U = X_g Aᵀ.
        let first = Int(tokenIndex[0])
        if Int(tokenIndex[count - 1]) - first == count - 1 {
            MatMul.multiply(x + first * k, rows: count, factors.shrink, into: u)
        } else {
            u.update(repeating: 0, count: count * r)
            for i in 0..<count {
                rows.inputRow[i] = tokenIndex[i]
                rows.outputRow[i] = Int32(i)
                rows.factor[i] = 1
            }
            MatMul.multiplyExpanded(x, rows, factors.shrink, into: u)
        }
        // Expand: y[t_i] += s · B U[i].
        for i in 0..<count {
            rows.inputRow[i] = Int32(i)
            rows.outputRow[i] = tokenIndex[i]
            rows.factor[i] = factors.scale
        }
        MatMul.multiplyExpanded(u, rows, factors.expand, into: y)
    }
}
