// The grouping of one batch's tokens by adapter slot, built once per forward pass and reused by
// every linear layer of it (the slots of the tokens do not change between layers).

import FloraTensor

/// Tokens grouped by slot, as a counting sort: group `g` holds slot `groupSlot[g]` and the
/// tokens `order[groupStart[g] ..< groupStart[g + 1]]` (ascending). Tokens without an adapter
/// are in no group (`tokenGroup[t] == -1`).
final class BatchPlan {
    private(set) var tokens = 0
    private(set) var groupCount = 0
    private(set) var valid = false
    let slots = ScratchBuffer<Int32>()       // [tokens]: the slots this plan was built from
    let tokenGroup = ScratchBuffer<Int32>()  // [tokens]: group of each token, -1 for none
    let order = ScratchBuffer<Int32>()       // [tokens with an adapter]: token indices by group
    let groupSlot = ScratchBuffer<Int32>()   // [groupCount]
    let groupStart = ScratchBuffer<Int32>()  // [groupCount + 1]
    private let slotGroup: ScratchBuffer<Int32>  // [capacity]: group of each slot, -1 between builds
    private let cursorScratch = ScratchBuffer<Int32>()  // [groupCount]

    init(capacity: Int) {
        slotGroup = ScratchBuffer<Int32>(capacity: capacity)
        slotGroup.pointer.initialize(repeating: -1, count: capacity)
    }

    func invalidate() { valid = false }

    /// Whether the plan was built from exactly these slots.
    func matches(_ slots: UnsafePointer<Int32>, tokens: Int) -> Bool {
        guard valid, tokens == self.tokens else { return false }
        return memcmpInt32(self.slots.pointer, slots, tokens)
    }

    /// Groups the tokens; every slot must be -1 or in `0..<capacity` (the bank checks occupancy).
    func build(_ slots: UnsafePointer<Int32>, tokens: Int, capacity: Int) {
        self.tokens = tokens
        self.slots.reserve(tokens).update(from: slots, count: tokens)
        tokenGroup.reserve(tokens)
        order.reserve(tokens)
        // Count tokens per group; groups are numbered by first appearance.
        var groups = 0
        groupStart.reserve(tokens + 1)
        groupSlot.reserve(tokens)
        let counts = groupStart.pointer  // counts in groupStart[g + 1] first
        for t in 0..<tokens {
            let slot = Int(slots[t])
            guard slot >= 0 else { tokenGroup[t] = -1; continue }
            var g = slotGroup[slot]
            if g < 0 {
                g = Int32(groups)
                slotGroup[slot] = g
                groupSlot[groups] = Int32(slot)
                counts[groups + 1] = 0
                groups += 1
            }
            tokenGroup[t] = g
            counts[Int(g) + 1] += 1
        }
        counts[0] = 0
        for g in 0..<groups { counts[g + 1] += counts[g] }
        // Stable scatter: one write cursor per group, starting at the group's first place.
        let cursor = cursorScratch.reserve(groups)
        cursor.update(from: groupStart.pointer, count: groups)
        for t in 0..<tokens {
            let g = Int(tokenGroup[t])
            guard g >= 0 else { continue }
            order[Int(cursor[g])] = Int32(t)
            cursor[g] += 1
        }
        for g in 0..<groups { slotGroup[Int(groupSlot[g])] = -1 }
        groupCount = groups
        valid = true
    }

    /// Tokens of group `g`.
    @inline(__always) func range(of g: Int) -> Range<Int> { Int(groupStart[g])..<Int(groupStart[g + 1]) }
}

@inline(__always)
private func memcmpInt32(_ a: UnsafePointer<Int32>, _ b: UnsafePointer<Int32>, _ count: Int) -> Bool {
    for i in 0..<count where a[i] != b[i] { return false }
    return true
}
