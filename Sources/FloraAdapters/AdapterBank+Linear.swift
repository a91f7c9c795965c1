// The batched adapted linear layer (DESIGN.md section 1, "Any mix in one batch"): one product
// with the base weight serves every token of the batch, whatever adapter each token uses.

import FloraTensor

/// What one group's adapter does to the current (layer, module), as raw pointers into its
/// `AdapterWeights` (kept alive by the bank's slot for the whole call).
struct ResolvedModule {
    enum Kind: UInt8 { case none, flora, lora, ia3Input, ia3Output, dora, road }
    var kind: Kind
    var rank: Int                  // RoAd: the group size
    var a: UnsafePointer<Float>?   // fLoRA, LoRA and DoRA: A [rank, inputs]; IA3: l; RoAd: f [outputs]
    var bT: UnsafePointer<Float>?  // fLoRA and LoRA: Bᵀ [rank, outputs]; DoRA: (m/n ∘ B)ᵀ; RoAd: s [outputs]
    var scale: Float               // fLoRA: 1/rank; LoRA and DoRA: s
    var outputScale: UnsafePointer<Float>? = nil  // DoRA: m / n [outputs]

    /// Whether the LoRA kernels add a delta `s · B (A x)` for this module.
    var addsLoRADelta: Bool { kind == .lora || kind == .dora }

    static var none: ResolvedModule { ResolvedModule(kind: .none, rank: 0, a: nil, bT: nil, scale: 1) }
}

/// What the groups of the current plan need at one (layer, module).
struct ModuleSummary {
    var resolved: Bool
    var hasLoRA: Bool
    var hasRoad: Bool
    /// Rows of the expanded product; 0 when the plain product serves.
    var expandedRows: Int32

    static var unresolved: ModuleSummary { ModuleSummary(resolved: false, hasLoRA: false, hasRoad: false, expandedRows: 0) }
}

extension AdapterBank {
    /// `y = adapted(W) x + b` for a batch of tokens, each with its own adapter, as a plain loop
    /// (`AdapterReference.linear` is exactly this):
    ///
    ///     for t in 0..<tokens:                       // m = adapter of slots[t] at (layer, module)
    ///         none:             y[t] = W x[t] + b
    ///         fLoRA rank r:     y[t] = (1/r) Σ_j B[:, j] ∘ (W (A[j, :] ∘ x[t])) + b
    ///         LoRA:             y[t] = W x[t] + b + s · B (A x[t])
    ///         IA3 feed-forward: y[t] = W (l ∘ x[t]) + b
    ///         IA3 otherwise:    y[t] = l ∘ (W x[t] + b)
    ///         DoRA:             y[t] = (m/n) ∘ (W x[t] + s · B (A x[t])) + b
    ///         RoAd:             y[t] = rotate_f,s(W x[t] + b)            (RoadRotation.swift)
    ///
    /// How: when no token has an fLoRA, IA3 or DoRA adapter on this module, one `MatMul.multiply`;
    /// otherwise one `MatMul.multiplyExpanded` where a token is one row (no adapter, LoRA, RoAd,
    /// IA3 with its `l` as input or output scale, DoRA with `m/n` as output scale) or `r` rows
    /// (fLoRA: input scale `A[j, :]`, output scale `B[:, j]`, factor `1/r`). An fLoRA group that
    /// `groupMergePolicy` merges has no rows there: its tokens go through `W ∘ (B A) / r` instead
    /// (AdapterBank+GroupMerge.swift). LoRA and DoRA deltas are then added by `loraKernel` (DoRA's
    /// B rows carry `m/n`), and RoAd rows rotated in place.
    ///
    /// - Parameters:
    ///   - weight: the base weight of (layer, module), `[outputs, inputs]` of `shapes`.
    ///   - bias: `[outputs]` or nil.
    ///   - x: `[tokens, inputs]`. - slots: `[tokens]`, as given to `prepare` (prepared again if not).
    ///   - y: `[tokens, outputs]`, overwritten.
    public func linear(
        layer: Int, module: TargetModule, weight: PackedMatrix, bias: UnsafePointer<Float>?,
        input x: UnsafePointer<Float>, tokens: Int, slots: UnsafePointer<AdapterSlot>,
        output y: UnsafeMutablePointer<Float>
    ) {
        let k = weight.inputs, n = weight.outputs
        precondition(layer >= 0 && layer < shapes.layers, "AdapterBank.linear: layer \(layer) outside 0..<\(shapes.layers)")
        precondition(k == shapes.inputs(module) && n == shapes.outputs(module),
                     "AdapterBank.linear: weight [\(n), \(k)] does not match \(module.rawValue) [\(shapes.outputs(module)), \(shapes.inputs(module))]")
        guard tokens > 0 else { return }
        ensurePlan(slots, tokens: tokens)
        let (modules, summary) = resolvedModules(layer: layer, module: module)
        let merges = summary.expandedRows == 0 ? GroupMerges.none : planGroupMerges(modules, layer: layer, module: module, weight: weight)
        let expandedRows = Int(summary.expandedRows) - merges.removedRows

        if summary.expandedRows == 0 {
            MatMul.multiply(x, rows: tokens, weight, into: y)  // [tokens, n]
            if let bias {
                for t in 0..<tokens { Elementwise.add(bias, into: y + t * n, count: n) }
            }
        } else {
            fillBiases(bias, modules, outputs: n, tokens: tokens, into: y)
            if expandedRows > 0 {
                let rows = buildExpansion(modules, merged: merges.flags, tokens: tokens, expandedRows: expandedRows, inputs: k, outputs: n)
                MatMul.multiplyExpanded(x, rows, weight, into: y)
            }
            addMergedGroups(modules, merges, layer: layer, module: module, weight: weight, input: x, output: y)
        }
        if summary.hasLoRA {
            switch loraKernel {
            case .segmented: addLoRASegmented(modules, layer: layer, module: module, input: x, inputs: k, outputs: n, output: y)
            case .bmm: addLoRAGatherBMM(modules, input: x, tokens: tokens, inputs: k, outputs: n, output: y)
            }
        }
        if summary.hasRoad {
            for t in 0..<tokens {
                let g = Int(plan.tokenGroup[t])
                guard g >= 0, modules[g].kind == .road, let f = modules[g].a, let s = modules[g].bT else { continue }
                RoadRotation.apply(first: f, second: s, groupSize: modules[g].rank, outputs: n, to: y + t * n)
            }
        }
    }

    /// Every group's module at (layer, module), `[groupCount]`, and what they need. Resolved on
    /// the first call after the plan was built and kept until it is built again: decode steps
    /// keep their batch's composition, so most steps resolve nothing (each resolution touches
    /// every group's reference-counted weights).
    private func resolvedModules(layer: Int, module: TargetModule) -> (UnsafePointer<ResolvedModule>, ModuleSummary) {
        let place = layer * TargetModule.count + module.index
        let modules = resolvedTable.pointer + place * plan.groupCount
        if !moduleSummaries[place].resolved {
            moduleSummaries[place] = resolveGroups(layer: layer, module: module, into: modules)
        }
        return (UnsafePointer(modules), moduleSummaries[place])
    }

    /// Fills `resolved[g]` for every group of the plan.
    private func resolveGroups(layer: Int, module: TargetModule, into resolved: UnsafeMutablePointer<ResolvedModule>) -> ModuleSummary {
        let groups = plan.groupCount
        var extraRows = 0, needsExpansion = false, hasLoRA = false, hasRoad = false
        for g in 0..<groups {
            let members = plan.range(of: g).count
            switch resident[Int(plan.groupSlot[g])]?.module(layer: layer, module) {
            case .flora(let f):
                resolved[g] = ResolvedModule(
                    kind: .flora, rank: f.rank, a: UnsafePointer(f.a.pointer), bT: UnsafePointer(f.bTransposed.pointer),
                    scale: 1 / Float(f.rank))
                extraRows += members * (f.rank - 1)
                needsExpansion = true
            case .lora(let f):
                resolved[g] = ResolvedModule(
                    kind: .lora, rank: f.rank, a: UnsafePointer(f.a.pointer), bT: UnsafePointer(f.bTransposed.pointer), scale: f.scale)
                hasLoRA = true
            case .ia3(let v):
                resolved[g] = ResolvedModule(
                    kind: v.feedForward ? .ia3Input : .ia3Output, rank: 1, a: UnsafePointer(v.l.pointer), bT: nil, scale: 1)
                needsExpansion = true
            case .dora(let d):
                let f = d.scaledDelta
                resolved[g] = ResolvedModule(
                    kind: .dora, rank: f.rank, a: UnsafePointer(f.a.pointer), bT: UnsafePointer(f.bTransposed.pointer), scale: f.scale,
                    outputScale: UnsafePointer(d.outputScale.pointer))
                hasLoRA = true
                needsExpansion = true
            case .road(let r):
                resolved[g] = ResolvedModule(
                    kind: .road, rank: r.groupSize, a: UnsafePointer(r.first.pointer), bT: UnsafePointer(r.second.pointer), scale: 1)
                hasRoad = true
            case nil:
                resolved[g] = .none
            }
        }
        return ModuleSummary(resolved: true, hasLoRA: hasLoRA, hasRoad: hasRoad, expandedRows: Int32(needsExpansion ? plan.tokens + extraRows : 0))
    }

    /// `y[t] = b` (IA3 output-scaled tokens: `l ∘ b`), or zeros without bias: the expanded
    /// product adds into it.
    private func fillBiases(
        _ bias: UnsafePointer<Float>?, _ resolved: UnsafePointer<ResolvedModule>, outputs n: Int, tokens: Int,
        into y: UnsafeMutablePointer<Float>
    ) {
        guard let bias else {
            y.update(repeating: 0, count: tokens * n)
            return
        }
        for t in 0..<tokens {
            let g = Int(plan.tokenGroup[t])
            let m = g >= 0 ? resolved[g] : .none
            if m.kind == .ia3Output, let l = m.a {
                Elementwise.multiply(l, bias, into: y + t * n, count: n)
            } else {
                (y + t * n).update(from: bias, count: n)
            }
        }
    }

    /// The rows of the expanded product, in token order (rows of one token are contiguous);
    /// tokens of groups in `merged` have none.
    private func buildExpansion(
        _ resolved: UnsafePointer<ResolvedModule>, merged: UnsafePointer<Bool>?, tokens: Int, expandedRows: Int, inputs k: Int, outputs n: Int
    ) -> RowExpansion {
        expansion.reserve(expandedRows)
        let inputRow = expansion.inputRow.pointer, inputScale = expansion.inputScale.pointer
        let outputRow = expansion.outputRow.pointer, outputScale = expansion.outputScale.pointer
        let factor = expansion.factor.pointer
        var e = 0
        for t in 0..<tokens {
            let g = Int(plan.tokenGroup[t])
            if g >= 0, let merged, merged[g] { continue }
            let m = g >= 0 ? resolved[g] : .none
            let row = Int32(t)
            switch m.kind {
            case .flora:
                for j in 0..<m.rank {
                    inputRow[e] = row
                    inputScale[e] = m.a! + j * k
                    outputRow[e] = row
                    outputScale[e] = m.bT! + j * n
                    factor[e] = m.scale
                    e += 1
                }
            case .ia3Input, .ia3Output, .lora, .dora, .road, .none:
                inputRow[e] = row
                inputScale[e] = m.kind == .ia3Input ? m.a : nil
                outputRow[e] = row
                outputScale[e] = m.kind == .ia3Output ? m.a : m.kind == .dora ? m.outputScale : nil
                factor[e] = 1
                e += 1
            }
        }
        assert(e == expandedRows)
        return expansion.expansion(count: e)
    }
}
