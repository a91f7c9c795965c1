// fLoRA's per-group merge inside the batched linear layer (DESIGN.md section 1, "fLoRA per-group
// merge"): a group of tokens that share one fLoRA adapter in a step (a prompt in prefill, or
// several decoding sequences of one adapter) may skip the row expansion and be multiplied with
// `W' = W ∘ (B A) / r`, formed for this step in reused scratch. The choice is per group, by the
// measured costs of GroupMergeCostModel.swift.
//
// Products: W' is fp32 (a quantized W is dequantized first), so a merged group's result is the
// exact fp32 product of its adapted weight: within 1e-5 relative of the row expansion with exact
// products. Weights whose products run the int8 kernels (the default for Q8_0/Q4_1) stay on the
// expansion under `.measured`: a merged group would be closer to the fp32 reference but no longer
// equal to the same request run alone, whose group size (and so path) may differ.

import FloraTensor

/// The bank's state for the per-group merge: the policy, the costs measured per module, and the
/// scratch reused from step to step (the merged panels of the group in hand, its rows).
final class GroupMergeState {
    var policy: GroupMergePolicy = .processDefault
    var costs: [GroupMergeCosts?] = Array(repeating: nil, count: TargetModule.count)  // [TargetModule.count]
    var mergedGroups = 0
    let merged = ScratchBuffer<Bool>()   // [groupCount]: this call's choice per group
    let panels = ScratchBuffer<Float>()  // [panelCount · 32, inputs]: W' of the group in hand
    let rows = RowExpansionScratch()     // [tokens of one group]: one plain row per token
}

/// The groups of one `linear` call that go through a merged weight.
struct GroupMerges {
    /// Number of merged groups; 0 leaves the call as it was before the merge existed.
    var groups: Int
    /// Expanded rows these groups no longer need (members × rank each).
    var removedRows: Int
    /// `[groupCount]`: whether group g is merged; nil when no group is.
    var flags: UnsafePointer<Bool>?

    static var none: GroupMerges { GroupMerges(groups: 0, removedRows: 0, flags: nil) }
}

extension AdapterBank {
    /// How groups of tokens sharing one fLoRA adapter are computed (`FLORA_GROUP_MERGE`, else `.measured`).
    public var groupMergePolicy: GroupMergePolicy {
        get { groupMerge.policy }
        set { groupMerge.policy = newValue }
    }

    /// The costs `.measured` decides with at `module`: measured on the first weight of that module
    /// that meets a group worth deciding, unless set here first (tests, benchmarks).
    public func groupMergeCosts(for module: TargetModule) -> GroupMergeCosts? { groupMerge.costs[module.index] }

    public func setGroupMergeCosts(_ costs: GroupMergeCosts?, for module: TargetModule) { groupMerge.costs[module.index] = costs }

    /// (group, module) products computed through a merged weight since the bank was made.
    public var mergedGroupProducts: Int { groupMerge.mergedGroups }

    /// Which fLoRA groups of the plan merge at this module. `.always` merges every fLoRA group;
    /// `.measured` those of at least two tokens whose measured costs say so, and only when the
    /// weight's products are exact: with int8 products the expansion and the merged fp32 weight
    /// differ by more than greedy near-ties tolerate, and a sequence's tokens must not depend on
    /// the batch it shares a step with (its group's size there decides the path).
    func planGroupMerges(_ resolved: UnsafePointer<ResolvedModule>, module: TargetModule, weight: PackedMatrix) -> GroupMerges {
        let policy = groupMerge.policy
        guard policy == .always || (policy == .measured && !weight.multipliesInInt8) else { return .none }
        let groupCount = plan.groupCount
        let flags = groupMerge.merged.reserve(groupCount)
        var groups = 0, removedRows = 0
        for g in 0..<groupCount {
            let m = resolved[g]
            let members = plan.range(of: g).count
            var merge = false
            if m.kind == .flora {
                switch policy {
                case .always: merge = true
                case .measured: merge = members >= 2 && m.rank >= 2 && costs(module, weight).prefersMerge(tokens: members, rank: m.rank)
                case .never: merge = false
                }
            }
            flags[g] = merge
            if merge {
                groups += 1
                removedRows += members * m.rank
            }
        }
        return groups == 0 ? .none : GroupMerges(groups: groups, removedRows: removedRows, flags: UnsafePointer(flags))
    }

    private func costs(_ module: TargetModule, _ weight: PackedMatrix) -> GroupMergeCosts {
        if let known = groupMerge.costs[module.index] { return known }
        let measured = GroupMergeCosts.measure(weight)
        groupMerge.costs[module.index] = measured
        return measured
    }

    /// Adds each merged group's `W' x[t]` into `y[t]` (which holds the bias already): per group,
    /// W' is formed in the bank's scratch panels and the group's tokens are one row each.
    func addMergedGroups(
        _ resolved: UnsafePointer<ResolvedModule>, _ merges: GroupMerges, weight: PackedMatrix,
        input x: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>
    ) {
        guard let flags = merges.flags else { return }
        let panels = groupMerge.panels.reserve(MatMul.mergedPanelFloats(weight))
        let rows = groupMerge.rows
        for g in 0..<plan.groupCount where flags[g] {
            let m = resolved[g]
            groupMerge.mergedGroups += 1
            MatMul.mergeFlora(weight, a: m.a!, bT: m.bT!, rank: m.rank, factor: m.scale, into: panels)
            let members = plan.range(of: g)
            rows.reserve(members.count)
            for (e, i) in members.enumerated() {
                let t = plan.order[i]
                rows.inputRow[e] = t
                rows.inputScale[e] = nil
                rows.outputRow[e] = t
                rows.outputScale[e] = nil
                rows.factor[e] = 1
            }
            MatMul.multiplyExpanded(
                x, rows.expansion(count: members.count), mergedPanels: panels, outputs: weight.outputs, inputs: weight.inputs, into: y)
        }
    }
}
