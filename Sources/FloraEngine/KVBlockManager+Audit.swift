// A full check of the block manager's bookkeeping, for tests and for a debug endpoint: it walks
// every block and every table (O(pool)), so the step loop does not call it.

extension KVBlockManager {
    /// Every broken rule, in words; empty when the bookkeeping is sound. The rules: a block's
    /// reference count equals the number of block tables holding it; a block is held, free, or
    /// evictable, never two of these; evictable blocks and only they among free blocks are
    /// cached; a block held twice (by two sequences, or twice by one) is a computed full block
    /// of every holder, so nobody writes it; the hash index points at cached blocks.
    public func consistencyViolations() -> [String] {
        var problems: [String] = []
        var holders = Array(repeating: 0, count: blockCount)
        for (id, sequence) in sequences {
            for block in sequence.blocks {
                guard block >= 0, Int(block) < blockCount else {
                    problems.append("\(id) holds block \(block), outside the pool of \(blockCount)")
                    continue
                }
                holders[Int(block)] += 1
            }
            if sequence.chain.count > sequence.blocks.count {
                problems.append("\(id) has \(sequence.chain.count) computed full blocks but only \(sequence.blocks.count) blocks")
            }
        }
        var inFree = Array(repeating: false, count: blockCount)
        for block in uncachedFree {
            if inFree[Int(block)] { problems.append("block \(block) is on the free list twice") }
            inFree[Int(block)] = true
            if cachedBlocks[Int(block)] != nil { problems.append("block \(block) is on the uncached free list but cached") }
            if evictable.contains(block) { problems.append("block \(block) is both free and evictable") }
        }
        for block in 0..<blockCount {
            let count = Int(referenceCounts[block])
            if count != holders[block] {
                problems.append("block \(block) has reference count \(count) but \(holders[block]) holders")
            }
            let isFree = inFree[block] || evictable.contains(Int32(block))
            if count > 0, isFree { problems.append("block \(block) is held (\(count)) and free") }
            if count == 0, !isFree { problems.append("block \(block) is held by nobody and not free (leaked)") }
            if evictable.contains(Int32(block)), cachedBlocks[block] == nil {
                problems.append("block \(block) is evictable but holds no cached block")
            }
        }
        for (id, sequence) in sequences {
            for (i, block) in sequence.blocks.enumerated() where Int(block) < blockCount && holders[Int(block)] > 1 && i >= sequence.chain.count {
                problems.append("block \(block) is shared (\(holders[Int(block)]) holders) but is still being written by \(id) at its block \(i)")
            }
        }
        for (hash, block) in cacheIndex where cachedBlocks[Int(block)]?.hash != hash {
            problems.append("the prefix index maps hash \(hash) to block \(block), which does not hold it")
        }
        for (entryID, block) in liveEntries where cachedBlocks[Int(block)]?.entryID != entryID {
            problems.append("cache entry \(entryID) points at block \(block), which holds another entry")
        }
        if freeBlockCount > blockCount { problems.append("\(freeBlockCount) free blocks in a pool of \(blockCount)") }
        return problems
    }
}
