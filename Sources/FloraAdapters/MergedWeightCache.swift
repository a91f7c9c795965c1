// fLoRA's merged weights kept from step to step (DESIGN.md section 1, "fLoRA per-group merge").
// A decoding sequence meets every (layer, module) once per step with one token, where forming
// W' = W ∘ (B A) / r anew costs what the r expanded rows cost, so the merge alone never pays.
// Kept, W' turns each later step's r expanded rows into one pass over W': from some rank up
// (GroupMergeCosts.prefersKept) that is the cheaper way, and a prompt's merge in prefill is
// reused by all of its decode steps.
//
// Bounded by a byte budget. An entry used in the current or the previous forward pass is never
// evicted: with more adapters decoding than the budget holds, plain LRU would have them evict
// one another every step and merge everything anew each time (its cyclic worst case); instead
// the adapters that came first keep their weights and the rest take the row expansion.

import FloraTensor

/// Merged fp32 panels of (slot, layer, module), within a byte budget, in least-recently-used
/// order: a list from the entry used longest ago to the one used last, so that finding what to
/// evict, or that nothing may be evicted, takes constant time per step and group.
final class MergedWeightCache {
    private struct Key: Hashable {
        var slot: AdapterSlot
        var place: Int32  // layer · TargetModule.count + module
    }

    private final class Entry {
        let key: Key
        let panels: ScratchBuffer<Float>
        var lastPass: UInt64
        /// Whether the panels hold W' (false between `reserve` and the merge that fills them).
        var filled = false
        var older: Entry?
        var newer: Entry?

        init(key: Key, panels: ScratchBuffer<Float>, pass: UInt64) {
            self.key = key
            self.panels = panels
            lastPass = pass
        }

        var bytes: Int { panels.capacity * MemoryLayout<Float>.stride }
    }

    /// Most bytes of merged panels held; 0 keeps none.
    var budget: Int {
        didSet { _ = evict(toFit: 0, protecting: .max) }
    }
    private(set) var bytes = 0
    private var entries: [Key: Entry] = [:]
    private var oldest: Entry?
    private var newest: Entry?
    private var pass: UInt64 = 0

    init(budget: Int) { self.budget = max(0, budget) }

    deinit {
        // The list's links are strong both ways; unlinking frees the entries.
        while let entry = oldest { unlink(entry) }
    }

    var count: Int { entries.count }

    /// Starts a forward pass: entries used from here on, and in the pass before, are kept.
    func beginPass() { pass &+= 1 }

    /// The filled panels of (slot, layer, module), marked used in this pass; nil when not held.
    func panels(slot: AdapterSlot, place: Int) -> UnsafePointer<Float>? {
        guard let entry = entries[Key(slot: slot, place: Int32(place))], entry.filled else { return nil }
        touch(entry)
        return UnsafePointer(entry.panels.pointer)
    }

    /// Room for the panels of (slot, layer, module), `floats` long, which the caller fills in this
    /// pass and then marks with `filled`; nil when the budget cannot hold them without evicting an
    /// entry used in this or the previous pass. An evicted entry's buffer is reused when it is
    /// large enough (modules of one shape follow one another), so a full cache allocates nothing.
    func reserve(slot: AdapterSlot, place: Int, floats: Int) -> UnsafeMutablePointer<Float>? {
        let key = Key(slot: slot, place: Int32(place))
        let needed = floats * MemoryLayout<Float>.stride
        guard entries[key] == nil, needed <= budget else { return nil }
        let freed = evict(toFit: needed, protecting: pass &- 1)
        guard bytes + needed <= budget else { return nil }
        let buffer = freed.last { $0.capacity >= floats } ?? ScratchBuffer<Float>(capacity: floats)
        let entry = Entry(key: key, panels: buffer, pass: pass)
        guard bytes + entry.bytes <= budget else { return nil }
        entries[key] = entry
        append(entry)
        bytes += entry.bytes
        return buffer.pointer
    }

    /// Marks the panels `reserve` gave for (slot, layer, module) as holding W'.
    func filled(slot: AdapterSlot, place: Int) {
        entries[Key(slot: slot, place: Int32(place))]?.filled = true
    }

    /// Forgets every entry of `slot` (its adapter was removed, or another installed there).
    func invalidate(slot: AdapterSlot) {
        for (key, entry) in entries where key.slot == slot { drop(entry) }
    }

    /// Evicts entries from the oldest until `needed` more bytes fit, stopping at the first entry
    /// used in pass `protecting` or later (all newer ones were used later still). Returns the
    /// evicted entries' buffers.
    private func evict(toFit needed: Int, protecting: UInt64) -> [ScratchBuffer<Float>] {
        var freed: [ScratchBuffer<Float>] = []
        while bytes + needed > budget, let entry = oldest, entry.lastPass < protecting {
            drop(entry)
            freed.append(entry.panels)
        }
        return freed
    }

    private func touch(_ entry: Entry) {
        entry.lastPass = pass
        guard entry !== newest else { return }
        unlink(entry)
        append(entry)
    }

    private func drop(_ entry: Entry) {
        entries[entry.key] = nil
        unlink(entry)
        bytes -= entry.bytes
    }

    private func append(_ entry: Entry) {
        entry.older = newest
        entry.newer = nil
        newest?.newer = entry
        newest = entry
        if oldest == nil { oldest = entry }
    }

    private func unlink(_ entry: Entry) {
        if let older = entry.older { older.newer = entry.newer } else { oldest = entry.newer }
        if let newer = entry.newer { newer.older = entry.older } else { newest = entry.older }
        entry.older = nil
        entry.newer = nil
    }
}
