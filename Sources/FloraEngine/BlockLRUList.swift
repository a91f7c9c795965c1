// The evictable blocks of the prefix cache, least recently freed first: a doubly linked list
// threaded through two arrays indexed by block, so that a cache hit can take a block out of the
// middle in O(1) and allocation pops the oldest in O(1).

struct BlockLRUList {
    private static let none: Int32 = -1
    private var previous: [Int32]   // [blockCount]
    private var next: [Int32]       // [blockCount]
    private var member: [Bool]      // [blockCount]
    private var head = BlockLRUList.none
    private var tail = BlockLRUList.none
    private(set) var count = 0

    init(blockCount: Int) {
        previous = Array(repeating: Self.none, count: blockCount)
        next = Array(repeating: Self.none, count: blockCount)
        member = Array(repeating: false, count: blockCount)
    }

    func contains(_ block: Int32) -> Bool { member[Int(block)] }

    /// Makes `block` the most recently used.
    mutating func append(_ block: Int32) {
        let b = Int(block)
        member[b] = true
        previous[b] = tail
        next[b] = Self.none
        if tail != Self.none { next[Int(tail)] = block } else { head = block }
        tail = block
        count += 1
    }

    mutating func remove(_ block: Int32) {
        let b = Int(block)
        guard member[b] else { return }
        let p = previous[b], n = next[b]
        if p != Self.none { next[Int(p)] = n } else { head = n }
        if n != Self.none { previous[Int(n)] = p } else { tail = p }
        member[b] = false
        previous[b] = Self.none
        next[b] = Self.none
        count -= 1
    }

    /// Takes the least recently used block.
    mutating func popFirst() -> Int32? {
        guard head != Self.none else { return nil }
        let block = head
        remove(block)
        return block
    }

    /// Least recently used first.
    var blocks: [Int32] {
        var result: [Int32] = []
        result.reserveCapacity(count)
        var b = head
        while b != Self.none {
            result.append(b)
            b = next[Int(b)]
        }
        return result
    }
}
