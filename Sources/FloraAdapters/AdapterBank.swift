// The adapter bank: resident adapters in numbered slots, indexed per token (STYLE.md habit 6;
// vLLM's per-token slot index with -1 for no adapter).

import FloraTensor

/// Index of a slot in an `AdapterBank`; `AdapterBank.noAdapter` (-1) marks a token without adapter.
public typealias AdapterSlot = Int32

/// How the bank applies LoRA deltas `s · B (A x)` (DESIGN.md section 1).
public enum LoRAKernel: String, Sendable, CaseIterable {
    /// Tokens grouped by adapter; per group one shrink product `U = X Aᵀ` and one expand product
    /// `Y += s · U Bᵀ` through FloraTensor's kernels (Punica's SGMV).
    case segmented
    /// The fLoRA paper's baseline (appendix B.1): per token, its own `A` and `B` gathered and
    /// applied as two small matrix-vector products.
    case bmm
}

/// A fixed number of slots holding resident adapters, and the batched linear layer that applies
/// each token's adapter.
///
/// Storage: each slot holds a reference to its immutable `AdapterWeights`, not a row of stacked
/// per-layer buffers (vLLM's layout). The kernels take per-row pointers (fLoRA's `RowExpansion`
/// points each expanded row at its own `A` row and `Bᵀ` row; LoRA groups use their own packed
/// factors), so stacking would buy no contiguity; it would instead fix a maximum rank, waste
/// memory on mixed ranks and copy every tensor on install. With references, `install` and
/// `remove` are O(1) plus validation, and never touch another slot.
///
/// Use per forward pass: `prepare(slots:tokens:)` once with each token's slot (it checks the
/// slots and groups the tokens by adapter), then `linear(...)` for every (layer, module) with the
/// same slots; a `linear` call with other slots than the prepared ones prepares them itself.
///
/// Ownership: the bank and its scratch belong to one runner (it is not `Sendable`). Load
/// `AdapterWeights` anywhere (they are `Sendable`), then install and remove between steps on
/// the runner's thread.
public final class AdapterBank {
    public static let noAdapter: AdapterSlot = -1

    /// Number of slots.
    public let capacity: Int
    /// The base model's dimensions every installed adapter must match.
    public let shapes: AdapterTargetShapes
    /// The LoRA kernel `linear` uses.
    public var loraKernel: LoRAKernel = .segmented

    private(set) var resident: [AdapterWeights?]  // [capacity]
    let plan: BatchPlan
    // Per-plan tables, rebuilt with the plan.
    let resolvedTable = ScratchBuffer<ResolvedModule>()  // [layers * TargetModule.count, groupCount]
    let moduleSummaries: ScratchBuffer<ModuleSummary>    // [layers * TargetModule.count]
    // Per-call scratch, grown on demand (never per token).
    let expansion = RowExpansionScratch()        // [expanded rows] of the base product
    let loraRows = RowExpansionScratch()         // [tokens of one LoRA group]: shrink and expand rows
    let loraIntermediate = ScratchBuffer<Float>()   // segmented: [tokens of one group, rank]; bmm: [parts, rank]
    let headRows = ScratchBuffer<Int32>()        // [logit rows of one adapter]: the head's group
    let groupMerge = GroupMergeState()           // fLoRA's per-group merge (AdapterBank+GroupMerge.swift)

    public init(capacity: Int, shapes: AdapterTargetShapes) throws {
        guard capacity > 0, capacity < Int(Int32.max) else {
            throw AdapterError.invalidArgument(what: "adapter bank capacity", expected: "1 ..< \(Int32.max)", found: "\(capacity)")
        }
        self.capacity = capacity
        self.shapes = shapes
        resident = Array(repeating: nil, count: capacity)
        plan = BatchPlan(capacity: capacity)
        moduleSummaries = ScratchBuffer(capacity: shapes.layers * TargetModule.count)
    }

    /// Number of occupied slots.
    public var count: Int { resident.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }

    /// Occupied slots, ascending.
    public var occupiedSlots: [AdapterSlot] { resident.indices.filter { resident[$0] != nil }.map { AdapterSlot($0) } }

    /// Puts `weights` into the lowest free slot. Throws, leaving the bank unchanged, when every
    /// slot is taken or the adapter was built for other dimensions.
    public func install(_ weights: AdapterWeights) throws -> AdapterSlot {
        guard let free = resident.firstIndex(where: { $0 == nil }) else {
            throw AdapterError.bankFull(adapter: weights.name, capacity: capacity)
        }
        try install(weights, at: AdapterSlot(free))
        return AdapterSlot(free)
    }

    /// Puts `weights` into `slot`, which must be empty: the engine's adapter cache decides the
    /// slot. Throws, leaving the bank unchanged, for a taken or out-of-range slot or other dimensions.
    public func install(_ weights: AdapterWeights, at slot: AdapterSlot) throws {
        guard weights.shapes == shapes else {
            throw AdapterError.shapeMismatch(adapter: weights.name, expected: "\(shapes)", found: "\(weights.shapes)")
        }
        guard slot >= 0, Int(slot) < capacity, resident[Int(slot)] == nil else {
            throw AdapterError.invalidSlot(slot: slot, expected: "an empty slot in 0..<\(capacity)")
        }
        resident[Int(slot)] = weights
        groupMerge.kept.invalidate(slot: slot)
        plan.invalidate()
    }

    /// Empties `slot` and returns what it held (nil if it was empty or out of range). A batch
    /// prepared before must be prepared again.
    @discardableResult
    public func remove(_ slot: AdapterSlot) -> AdapterWeights? {
        guard slot >= 0, Int(slot) < capacity, let weights = resident[Int(slot)] else { return nil }
        resident[Int(slot)] = nil
        groupMerge.kept.invalidate(slot: slot)
        plan.invalidate()
        return weights
    }

    /// The adapter in `slot`, nil if the slot is empty or out of range.
    public func weights(at slot: AdapterSlot) -> AdapterWeights? {
        guard slot >= 0, Int(slot) < capacity else { return nil }
        return resident[Int(slot)]
    }

    /// Checks a batch's slots and groups its tokens by adapter, once per forward pass; every
    /// `linear` call with the same slots reuses the grouping, and so does the next forward pass
    /// while the slots stay the same (decode steps of an unchanged batch). `slots` is `[tokens]`,
    /// each `noAdapter` or an occupied slot.
    public func prepare(slots: UnsafePointer<AdapterSlot>, tokens: Int) throws {
        groupMerge.kept.beginPass()
        for t in 0..<tokens {
            let slot = slots[t]
            guard slot == Self.noAdapter || weights(at: slot) != nil else {
                plan.invalidate()
                throw AdapterError.invalidSlot(
                    slot: slot, expected: "\(Self.noAdapter) or an occupied slot in 0..<\(capacity) (token \(t))")
            }
        }
        if plan.matches(slots, tokens: tokens) { return }
        plan.build(slots, tokens: tokens, capacity: capacity)
        let places = shapes.layers * TargetModule.count
        resolvedTable.reserve(places * plan.groupCount)
        moduleSummaries.pointer.update(repeating: .unresolved, count: places)
    }

    /// The plan for these slots: the prepared one when it matches, else built now.
    func ensurePlan(_ slots: UnsafePointer<AdapterSlot>, tokens: Int) {
        if plan.matches(slots, tokens: tokens) { return }
        do {
            try prepare(slots: slots, tokens: tokens)
        } catch {
            // Slots are built by the runner, not read from user data: a bad one is a programming error.
            preconditionFailure("AdapterBank.linear: \(error)")
        }
    }
}
