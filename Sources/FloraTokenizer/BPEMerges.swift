// Byte-pair merging as Hugging Face `tokenizers` does it (models/bpe/word.rs `merge_all`):
// among all adjacent pairs that have a merge rule, the pair with the lowest rank merges first;
// when ranks tie, the leftmost pair goes first. One occurrence merges at a time, so "a a a"
// with the rule "a a" becomes "aa a".

/// The merge rules of a BPE vocabulary, looked up by the ids of a pair.
///
/// Semantics, as a plain loop (this is `mergeReference`):
///
///     while true {
///         pick the index i of the adjacent pair (s[i], s[i+1]) with the smallest rank
///         (the smallest i among equal ranks); stop if no pair has a rule
///         s[i] = merged(s[i], s[i+1]); remove s[i+1]
///     }
public struct BPEMerges: Sendable {
    /// Open-addressing table (linear probing); a key packs the two ids, a value packs
    /// `rank << 32 | merged id`, so a lookup is one multiply and a few loads, with no hashing
    /// protocol calls in the encoder's innermost loop.
    private let keys: [UInt64]
    private let values: [UInt64]
    private let shift: UInt64
    /// Number of distinct rules.
    public let count: Int

    private static let empty = UInt64.max
    /// Words longer than this merge with a heap (O(n log n)); shorter ones with a linear scan,
    /// which is faster for the usual handful of bytes.
    static let heapThreshold = 128

    /// Rules in rank order: `rules[k]` has rank `k`. A repeated pair keeps its first (lowest) rank.
    public init(rules: [(left: TokenID, right: TokenID, merged: TokenID)]) {
        self.init(rankedRules: rules.enumerated().map { ($0.offset, $0.element.left, $0.element.right, $0.element.merged) })
    }

    /// Rules with explicit ranks (several rules may share one), in ascending rank order. A
    /// repeated pair keeps its first rule.
    public init(rankedRules rules: [(rank: Int, left: TokenID, right: TokenID, merged: TokenID)]) {
        var capacity = 16
        while capacity < rules.count * 2 { capacity *= 2 }
        var keys = [UInt64](repeating: Self.empty, count: capacity)
        var values = [UInt64](repeating: 0, count: capacity)
        let bits = UInt64(capacity.trailingZeroBitCount)
        let shift = 64 - bits
        var count = 0
        for rule in rules {
            let key = Self.key(rule.left, rule.right)
            var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
            while keys[slot] != Self.empty && keys[slot] != key { slot = (slot + 1) & (capacity - 1) }
            if keys[slot] == key { continue }
            keys[slot] = key
            values[slot] = UInt64(rule.rank) << 32 | UInt64(UInt32(truncatingIfNeeded: rule.merged))
            count += 1
        }
        self.keys = keys
        self.values = values
        self.shift = shift
        self.count = count
    }

    @inline(__always)
    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// The rule for the pair, packed as `rank << 32 | merged`, or `UInt64.max` when there is none.
    @inline(__always)
    func packedRule(_ left: Int32, _ right: Int32) -> UInt64 {
        let key = Self.key(left, right)
        let mask = keys.count - 1
        var slot = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
        while true {
            let found = keys[slot]
            if found == key { return values[slot] }
            if found == Self.empty { return UInt64.max }
            slot = (slot + 1) & mask
        }
    }

    /// The rank and result of merging `left` then `right`, or nil when no rule joins them.
    public func rule(left: TokenID, right: TokenID) -> (rank: Int, merged: TokenID)? {
        let packed = packedRule(left, right)
        if packed == UInt64.max { return nil }
        return (Int(packed >> 32), TokenID(bitPattern: UInt32(truncatingIfNeeded: packed)))
    }

    /// Merges a word given as the ids of its initial symbols.
    public func merge(_ symbols: [TokenID]) -> [TokenID] {
        var word = symbols
        var scratch = BPEScratch()
        merge(&word, scratch: &scratch)
        return word
    }

    /// The plain-loop definition of merging (see the type's documentation); kept as the
    /// reference the optimised paths are tested against.
    public func mergeReference(_ symbols: [TokenID]) -> [TokenID] {
        var word = symbols
        while word.count > 1 {
            var best: (rank: Int, index: Int, merged: TokenID)? = nil
            for i in 0..<(word.count - 1) {
                if let found = rule(left: word[i], right: word[i + 1]), best == nil || found.rank < best!.rank {
                    best = (found.rank, i, found.merged)
                }
            }
            guard let best else { break }
            word[best.index] = best.merged
            word.remove(at: best.index + 1)
        }
        return word
    }

    /// Merges `word` in place, reusing `scratch` so that the encoder allocates nothing per word.
    func merge(_ word: inout [Int32], scratch: inout BPEScratch) {
        if word.count < 2 { return }
        if word.count > Self.heapThreshold {
            mergeWithHeap(&word, scratch: &scratch)
        } else {
            mergeByScan(&word, scratch: &scratch)
        }
    }

    /// Linear scan for the best pair; ranks of neighbouring pairs are kept and only the two
    /// pairs next to a merge are looked up again.
    private func mergeByScan(_ word: inout [Int32], scratch: inout BPEScratch) {
        var rules = scratch.rules
        rules.removeAll(keepingCapacity: true)
        for i in 0..<(word.count - 1) { rules.append(packedRule(word[i], word[i + 1])) }
        while true {
            // The packed value orders by rank first; equal ranks keep the leftmost index.
            var bestIndex = -1
            var best = UInt64.max
            for i in 0..<rules.count where rules[i] >> 32 < best >> 32 {
                best = rules[i]
                bestIndex = i
            }
            if bestIndex < 0 { break }
            word[bestIndex] = Int32(bitPattern: UInt32(truncatingIfNeeded: best))
            word.remove(at: bestIndex + 1)
            rules.remove(at: bestIndex)
            if bestIndex > 0 { rules[bestIndex - 1] = packedRule(word[bestIndex - 1], word[bestIndex]) }
            if bestIndex < rules.count { rules[bestIndex] = packedRule(word[bestIndex], word[bestIndex + 1]) }
        }
        scratch.rules = rules
    }

    /// Priority queue of candidate pairs keyed by (rank, left position), with a doubly linked
    /// list of live symbols; stale entries are recognised by the ids they were made from.
    private func mergeWithHeap(_ word: inout [Int32], scratch: inout BPEScratch) {
        let n = word.count
        var next = scratch.next
        var prev = scratch.prev
        var heap = scratch.heap
        next.removeAll(keepingCapacity: true)
        prev.removeAll(keepingCapacity: true)
        heap.removeAll(keepingCapacity: true)
        for i in 0..<n {
            next.append(Int32(i + 1))
            prev.append(Int32(i - 1))
        }
        func push(_ left: Int32, _ right: Int32) {
            let packed = packedRule(word[Int(left)], word[Int(right)])
            if packed == UInt64.max { return }
            heap.push(HeapEntry(order: (packed >> 32) << 32 | UInt64(UInt32(left)),
                                right: right, leftId: word[Int(left)], rightId: word[Int(right)],
                                merged: Int32(bitPattern: UInt32(truncatingIfNeeded: packed))))
        }
        for i in 0..<(n - 1) { push(Int32(i), Int32(i + 1)) }
        while let entry = heap.pop() {
            let left = Int(UInt32(truncatingIfNeeded: entry.order))
            let right = Int(entry.right)
            guard word[left] == entry.leftId, next[left] == entry.right, word[right] == entry.rightId else { continue }
            word[left] = entry.merged
            word[right] = -1
            let after = next[right]
            next[left] = after
            if Int(after) < n { prev[Int(after)] = Int32(left) }
            if prev[left] >= 0 { push(prev[left], Int32(left)) }
            if Int(after) < n { push(Int32(left), after) }
        }
        var write = 0
        var i = 0
        while i < n {
            word[write] = word[i]
            write += 1
            i = Int(next[i])
        }
        word.removeLast(n - write)
        scratch.next = next
        scratch.prev = prev
        scratch.heap = heap
    }
}

/// Reusable buffers for merging, owned by one encode call.
struct BPEScratch {
    var rules: [UInt64] = []
    var next: [Int32] = []
    var prev: [Int32] = []
    var heap = MinHeap()
}

struct HeapEntry {
    /// `rank << 32 | left position`: the order in which candidates merge.
    var order: UInt64
    var right: Int32
    var leftId: Int32
    var rightId: Int32
    var merged: Int32
}

/// A binary min-heap on `HeapEntry.order`.
struct MinHeap {
    private var items: [HeapEntry] = []

    mutating func removeAll(keepingCapacity: Bool) { items.removeAll(keepingCapacity: keepingCapacity) }

    mutating func push(_ entry: HeapEntry) {
        items.append(entry)
        var child = items.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            if items[parent].order <= items[child].order { break }
            items.swapAt(parent, child)
            child = parent
        }
    }

    mutating func pop() -> HeapEntry? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if items.isEmpty { return top }
        items[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            if left >= items.count { break }
            var smallest = left
            if left + 1 < items.count && items[left + 1].order < items[left].order { smallest = left + 1 }
            if items[parent].order <= items[smallest].order { break }
            items.swapAt(parent, smallest)
            parent = smallest
        }
        return top
    }
}
