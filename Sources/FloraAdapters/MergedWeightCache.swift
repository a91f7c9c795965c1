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

/// Merged fp32 panels of (slot, layer, module), within a byte budget.
final class MergedWeightCache {
    private struct Key: Hashable {
        var slot: AdapterSlot
        var place: Int32  // layer · TargetModule.count + module
    }

    private final class Entry {
        let panels: ScratchBuffer<Float>
        let floats: Int
        var lastPass: UInt64
        /// Whether the panels hold W' (false between `reserve` and the merge that fills them).
        var filled = false

        init(panels: ScratchBuffer<Float>, floats: Int, pass: UInt64) {
            self.panels = panels
            self.floats = floats
            lastPass = pass
        }
    }

    /// Most bytes of merged panels held; 0 keeps none.
    var budget: Int {
        didSet { evict(toFit: 0, protecting: .max) }
    }
    private(set) var bytes = 0
    private var entries: [Key: Entry] = [:]
    private var pass: UInt64 = 0

    init(budget: Int) { self.budget = max(0, budget) }

    var count: Int { entries.count }

    /// Starts a forward pass: entries used from here on, and in the pass before, are kept.
    func beginPass() { pass &+= 1 }

    /// The filled panels of (slot, layer, module), marked used in this pass; nil when not held.
    func panels(slot: AdapterSlot, place: Int) -> UnsafePointer<Float>? {
        guard let entry = entries[Key(slot: slot, place: Int32(place))], entry.filled else { return nil }
        entry.lastPass = pass
        return UnsafePointer(entry.panels.pointer)
    }

    /// Room for the panels of (slot, layer, module), `floats` long, which the caller fills in this
    /// pass and then marks with `filled`; nil when the budget cannot hold them without evicting an
    /// entry used in this or the previous pass.
    func reserve(slot: AdapterSlot, place: Int, floats: Int) -> UnsafeMutablePointer<Float>? {
        let key = Key(slot: slot, place: Int32(place))
        let needed = floats * MemoryLayout<Float>.stride
        guard entries[key] == nil, needed <= budget else { return nil }
        evict(toFit: needed, protecting: pass &- 1)
        guard bytes + needed <= budget else { return nil }
        let buffer = ScratchBuffer<Float>(capacity: floats)
        entries[key] = Entry(panels: buffer, floats: floats, pass: pass)
        bytes += needed
        return buffer.pointer
    }

    /// Marks the panels `reserve` gave for (slot, layer, module) as holding W'.
    func filled(slot: AdapterSlot, place: Int) {
        entries[Key(slot: slot, place: Int32(place))]?.filled = true
    }

    /// Forgets every entry of `slot` (its adapter was removed, or another installed there).
    func invalidate(slot: AdapterSlot) {
        for (key, entry) in entries where key.slot == slot { drop(key, entry) }
    }

    /// Evicts the least recently used entries last used before pass `protecting` until `needed`
    /// more bytes fit; stops early when only protected entries are left.
    private func evict(toFit needed: Int, protecting: UInt64) {
        guard bytes + needed > budget else { return }
        let candidates = entries.filter { $0.value.lastPass < protecting }.sorted { $0.value.lastPass < $1.value.lastPass }
        for (key, entry) in candidates {
            if bytes + needed <= budget { return }
            drop(key, entry)
        }
    }

    private func drop(_ key: Key, _ entry: Entry) {
        entries[key] = nil
        bytes -= entry.floats * MemoryLayout<Float>.stride
    }
}
