// fLoRA's per-group merge inside the batched linear layer (DESIGN.md section 1, "fLoRA per-group
// merge"): a group of tokens that share one fLoRA adapter in a step (a prompt in prefill, or
// several decoding sequences of one adapter) may skip the row expansion and be multiplied with
// `W' = W ∘ (B A) / r`, formed for this step in reused scratch. The choice is per group, by the
// measured costs of GroupMergeCostModel.swift. A formed W' may be kept for later steps
// (MergedWeightCache.swift): a decoding sequence then reads it instead of expanding r rows.
//
// Products: W' is fp32 (a quantized W is dequantized first), so a merged group's result is the
// exact fp32 product of its adapted weight: within 1e-5 relative of the row expansion with exact
// products. Weights whose products run the int8 kernels (the default for Q8_0/Q4_1) stay on the
// expansion under `.measured`: a merged group would be closer to the fp32 reference but no longer
// equal to the same request run alone, whose group size (and so path) may differ.

import FloraTensor

/// The bank's state for the per-group merge: the policy, the costs measured per module, the
/// merged weights kept across steps, and the scratch reused from step to step (the merged panels
/// of a group merged for this call only, its rows).
final class GroupMergeState {
    var policy: GroupMergePolicy = .processDefault
    var costs: [GroupMergeCosts?] = Array(repeating: nil, count: TargetModule.count)  // [TargetModule.count]
    var mergedGroups = 0
    /// Groups whose merged weight came from `kept` without a merge.
    var keptGroups = 0
    let kept = MergedWeightCache(budget: 0)
    let merged = ScratchBuffer<Bool>()         // [groupCount]: this call's choice per group
    let sources = ScratchBuffer<MergedSource>()  // [groupCount]: where a merged group's W' is
    let panels = ScratchBuffer<Float>()        // [panelCount · 32, inputs]: W' of the group in hand
    let rows = RowExpansionScratch()           // [tokens of one group]: one plain row per token
}

/// Where one merged group's W' lies in this call.
struct MergedSource {
    /// Panels kept in the cache; nil: the bank's scratch panels, formed for this call only.
    var kept: UnsafeMutablePointer<Float>?
    /// Whether W' is formed in this call (false: the kept panels hold it already).
    var form: Bool
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

    /// Of `mergedGroupProducts`, those whose W' was kept from an earlier step.
    public var keptMergedGroupProducts: Int { groupMerge.keptGroups }

    /// Most bytes of merged weights kept across steps (MergedWeightCache.swift); 0, the bank's
    /// default, forms W' anew in every step that merges. Lowering it evicts at once.
    public var mergedWeightBudget: Int {
        get { groupMerge.kept.budget }
        set { groupMerge.kept.budget = max(0, newValue) }
    }

    /// Bytes of merged weights kept now.
    public var mergedWeightBytes: Int { groupMerge.kept.bytes }

    /// Which fLoRA groups of the plan merge at this module, and where each one's W' comes from.
    /// `.always` merges every fLoRA group; `.measured` a group whose W' is kept when the kept
    /// weight is cheaper than its expanded rows, else one whose W' is worth keeping (if the budget
    /// has room) or worth forming for this call alone (at least two tokens), as the measured costs
    /// say. A W' is worth keeping when its sequences' decode steps (one token each) will read it
    /// rather than expand: at low rank a prompt's merge pays in prefill, but a kept copy would only
    /// take memory, and its allocation time. `.measured` merges only where the weight's products are exact: with int8 products the
    /// expansion and the merged fp32 weight differ by more than greedy near-ties tolerate, and a
    /// sequence's tokens must not depend on the batch it shares a step with (its group's size
    /// there decides the path).
    func planGroupMerges(_ resolved: UnsafePointer<ResolvedModule>, layer: Int, module: TargetModule, weight: PackedMatrix) -> GroupMerges {
        let policy = groupMerge.policy
        guard policy == .always || (policy == .measured && !weight.multipliesInInt8) else { return .none }
        let groupCount = plan.groupCount
        let flags = groupMerge.merged.reserve(groupCount)
        let sources = groupMerge.sources.reserve(groupCount)
        let place = layer * TargetModule.count + module.index
        let cache = groupMerge.kept
        var groups = 0, removedRows = 0
        for g in 0..<groupCount {
            let m = resolved[g]
            let members = plan.range(of: g).count
            var source: MergedSource?
            if m.kind == .flora, policy != .never {
                let slot = plan.groupSlot[g]
                let always = policy == .always
                if let kept = cache.panels(slot: slot, place: place) {
                    if always || costs(module, weight).prefersKept(tokens: members, rank: m.rank) {
                        source = MergedSource(kept: UnsafeMutablePointer(mutating: kept), form: false)
                    }
                } else if cache.budget > 0, always || costs(module, weight).prefersKept(tokens: 1, rank: m.rank),
                          let room = cache.reserve(slot: slot, place: place, floats: MatMul.mergedPanelFloats(weight)) {
                    source = MergedSource(kept: room, form: true)
                } else if always || (members >= 2 && m.rank >= 2 && costs(module, weight).prefersMerge(tokens: members, rank: m.rank)) {
                    source = MergedSource(kept: nil, form: true)
                }
            }
            flags[g] = source != nil
            if let source {
                sources[g] = source
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
    /// W' is read from the kept panels, or formed (into kept panels or the bank's scratch), and the
    /// group's tokens are one row each.
    func addMergedGroups(
        _ resolved: UnsafePointer<ResolvedModule>, _ merges: GroupMerges, layer: Int, module: TargetModule, weight: PackedMatrix,
        input x: UnsafePointer<Float>, output y: UnsafeMutablePointer<Float>
    ) {
        guard let flags = merges.flags else { return }
        let scratchPanels = groupMerge.panels.reserve(MatMul.mergedPanelFloats(weight))
        let rows = groupMerge.rows
        for g in 0..<plan.groupCount where flags[g] {
            let m = resolved[g]
            let source = groupMerge.sources[g]
            let panels = source.kept ?? scratchPanels
            groupMerge.mergedGroups += 1
            if source.form {
                MatMul.mergeFlora(weight, a: m.a!, bT: m.bT!, rank: m.rank, factor: m.scale, into: panels)
                if source.kept != nil { groupMerge.kept.filled(slot: plan.groupSlot[g], place: layer * TargetModule.count + module.index) }
            } else {
                groupMerge.keptGroups += 1
            }
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
