// The batched adapted linear layer (DESIGN.md section 1, "Any mix in one batch"): one product
// with the base weight serves every token of the batch, whatever adapter each token uses.

import FloraTensor

/// What one group's adapter does to the current (layer, module), as raw pointers into its
/// `AdapterWeights` (kept alive by the bank's slot for the whole call).
struct ResolvedModule {
    enum Kind: UInt8 { case none, flora, lora, ia3Input, ia3Output }
    var kind: Kind
    var rank: Int
    var a: UnsafePointer<Float>?   // fLoRA and LoRA: A [rank, inputs]; IA3: l
    var bT: UnsafePointer<Float>?  // fLoRA and LoRA: Bᵀ [rank, outputs]
    var scale: Float               // fLoRA: 1/rank; LoRA: s

    static var none: ResolvedModule { ResolvedModule(kind: .none, rank: 0, a: nil, bT: nil, scale: 1) }
}

/// What the groups of the current plan need at one (layer, module).
struct ModuleSummary {
    var resolved: Bool
    var hasLoRA: Bool
    /// Rows of the expanded product; 0 when the plain product serves.
    var expandedRows: Int32

    static var unresolved: ModuleSummary { ModuleSummary(resolved: false, hasLoRA: false, expandedRows: 0) }
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
    ///
    /// How: when no token has an fLoRA or IA3 adapter on this module, one `MatMul.multiply`;
    /// otherwise one `MatMul.multiplyExpanded` where a token is one row (no adapter, LoRA, IA3
    /// with its `l` as input or output scale) or `r` rows (fLoRA: input scale `A[j, :]`, output
    /// scale `B[:, j]`, factor `1/r`). An fLoRA group that `groupMergePolicy` merges has no rows
    /// there: its tokens go through `W ∘ (B A) / r` instead (AdapterBank+GroupMerge.swift).
    /// LoRA deltas are then added by `loraKernel`.
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
        let merges = summary.expandedRows == 0 ? GroupMerges.none : planGroupMerges(modules, module: module, weight: weight)
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
            addMergedGroups(modules, merges, weight: weight, input: x, output: y)
        }
        if summary.hasLoRA {
            switch loraKernel {
            case .segmented: addLoRASegmented(modules, layer: layer, module: module, input: x, inputs: k, outputs: n, output: y)
            case .bmm: addLoRAGatherBMM(modules, input: x, tokens: tokens, inputs: k, outputs: n, output: y)
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
        var extraRows = 0, needsExpansion = false, hasLoRA = false
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
            case nil:
                resolved[g] = .none
            }
        }
        return ModuleSummary(resolved: true, hasLoRA: hasLoRA, expandedRows: Int32(needsExpansion ? plan.tokens + extraRows : 0))
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
            case .ia3Input, .ia3Output, .lora, .none:
                inputRow[e] = row
                inputScale[e] = m.kind == .ia3Input ? m.a : nil
                outputRow[e] = row
                outputScale[e] = m.kind == .ia3Output ? m.a : nil
                factor[e] = 1
                e += 1
            }
        }
        assert(e == expandedRows)
        return expansion.expansion(count: e)
    }
}
