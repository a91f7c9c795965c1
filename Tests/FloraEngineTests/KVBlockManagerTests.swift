import FloraEngine
import Testing

@Suite struct KVBlockManagerTests {
    let a = SequenceID(rawValue: 1), b = SequenceID(rawValue: 2), c = SequenceID(rawValue: 3)

    @Test func blocksComeBackWhenEverySequenceIsFreed() throws {
        let manager = try KVBlockManager(blockCount: 10, blockSize: 4)
        #expect(manager.allocate(a, tokenCount: 9))     // 3 blocks
        #expect(manager.allocate(b, tokenCount: 4))     // 1 block
        #expect(manager.allocate(a, tokenCount: 13))    // one more
        #expect(manager.blockTable(of: a).count == 4)
        #expect(manager.freeBlockCount == 5)
        #expect(abs(manager.usage - 0.5) < 1e-12)
        #expect(Set(manager.blockTable(of: a)).isDisjoint(with: manager.blockTable(of: b)))
        manager.free(a)
        manager.free(b)
        #expect(manager.freeBlockCount == 10)
        #expect((0..<10).allSatisfy { manager.referenceCount(ofBlock: Int32($0)) == 0 })
        #expect(manager.consistencyViolations().isEmpty)
    }

    @Test func aShortPoolRefusesAnAllocationAndChangesNothing() throws {
        let manager = try KVBlockManager(blockCount: 4, blockSize: 4)
        #expect(manager.allocate(a, tokenCount: 12))
        #expect(!manager.allocate(b, tokenCount: 8))
        #expect(manager.blockTable(of: b).isEmpty)
        #expect(manager.freeBlockCount == 1)
        #expect(manager.allocate(b, tokenCount: 4))
        #expect(manager.consistencyViolations().isEmpty)
    }

    @Test(arguments: [0, 1, 2, 3])
    func invalidPoolsAreRefused(case index: Int) {
        let shapes = [(0, 16), (-1, 16), (4, 0), (4, -3)]
        #expect(throws: SchedulerError.self) { try KVBlockManager(blockCount: shapes[index].0, blockSize: shapes[index].1) }
    }

    @Test func blockHashesAreTheSameInEveryProcess() {
        // FNV-1a over the documented byte layout, computed independently (Python).
        let first = BlockHash.of(parent: BlockHash.root, tokens: [1, 2, 3], adapterName: nil)
        #expect(first == 0xdf07_1d3f_16cd_3c24)
        #expect(BlockHash.of(parent: BlockHash.root, tokens: [1, 2, 3], adapterName: "sql") == 0x46d5_6b9a_8091_2b90)
        #expect(BlockHash.of(parent: first, tokens: [-1, 70000], adapterName: nil) == 0xdd50_83c6_e6f7_657e)
        #expect(BlockHash.of(parent: BlockHash.root, tokens: [1, 2, 3], adapterName: "") != first)
    }

    @Test func aSharedPrefixUnderTheSameAdapterIsReused() throws {
        let manager = try KVBlockManager(blockCount: 16, blockSize: 4)
        let prompt: [Int32] = Array(0..<10)                      // 2 full blocks + 2 tokens
        #expect(manager.allocate(a, tokenCount: prompt.count, reusing: manager.cachedPrefix(of: prompt, adapterName: "x")))
        manager.markComputed(a, tokens: prompt, computedTokenCount: prompt.count, adapterName: "x")
        #expect(manager.cachedBlockCount == 2)

        let other: [Int32] = Array(0..<8) + [50, 51, 52]
        let prefix = manager.cachedPrefix(of: other, adapterName: "x")
        #expect(prefix.tokenCount == 8)
        #expect(prefix.blocks == Array(manager.blockTable(of: a).prefix(2)))
        #expect(manager.allocate(b, tokenCount: other.count, reusing: prefix))
        #expect(manager.referenceCount(ofBlock: prefix.blocks[0]) == 2)
        #expect(manager.blockTable(of: b).count == 3)
        #expect(manager.blockTable(of: b)[2] != manager.blockTable(of: a)[2])
        #expect(manager.prefixCacheHitTokens == 8)
        #expect(manager.prefixCacheMissTokens == 10 + 3)
        #expect(manager.consistencyViolations().isEmpty)
    }

    @Test(arguments: [("x", "y"), ("x", nil), (nil, "x")] as [(String?, String?)])
    func aPrefixComputedUnderAnotherAdapterIsAMiss(first: String?, second: String?) throws {
        let manager = try KVBlockManager(blockCount: 16, blockSize: 4)
        let prompt: [Int32] = Array(0..<10)
        #expect(manager.allocate(a, tokenCount: prompt.count))
        manager.markComputed(a, tokens: prompt, computedTokenCount: prompt.count, adapterName: first)
        #expect(manager.cachedPrefix(of: prompt, adapterName: second).blocks.isEmpty)
        #expect(manager.cachedPrefix(of: prompt, adapterName: first).tokenCount == 8)
    }

    @Test func aHitAlwaysLeavesTheLastPromptTokenToCompute() throws {
        let manager = try KVBlockManager(blockCount: 16, blockSize: 4)
        let prompt: [Int32] = Array(0..<12)                      // exactly 3 full blocks
        #expect(manager.allocate(a, tokenCount: 12))
        manager.markComputed(a, tokens: prompt, computedTokenCount: 12, adapterName: nil)
        #expect(manager.cachedBlockCount == 3)
        #expect(manager.cachedPrefix(of: prompt, adapterName: nil).tokenCount == 8)
        #expect(manager.cachedPrefix(of: [0], adapterName: nil).tokenCount == 0)
    }

    @Test func aBlockStillBeingComputedIsNotShared() throws {
        let manager = try KVBlockManager(blockCount: 16, blockSize: 4)
        let prompt: [Int32] = Array(0..<10)
        #expect(manager.allocate(a, tokenCount: 10))
        manager.markComputed(a, tokens: prompt, computedTokenCount: 6, adapterName: nil)   // block 1 half written
        #expect(manager.cachedPrefix(of: prompt, adapterName: nil).tokenCount == 4)
        manager.markComputed(a, tokens: prompt, computedTokenCount: 10, adapterName: nil)
        #expect(manager.cachedPrefix(of: prompt, adapterName: nil).tokenCount == 8)
    }

    @Test func freedPrefixBlocksStayCachedUntilTheyAreNeeded() throws {
        let manager = try KVBlockManager(blockCount: 4, blockSize: 4)
        let prompt: [Int32] = Array(0..<9)
        #expect(manager.allocate(a, tokenCount: 9))
        manager.markComputed(a, tokens: prompt, computedTokenCount: 9, adapterName: nil)
        manager.free(a)
        #expect(manager.freeBlockCount == 4)
        #expect(manager.evictableBlockCount == 2)
        let prefix = manager.cachedPrefix(of: prompt, adapterName: nil)
        #expect(prefix.tokenCount == 8)
        #expect(manager.allocate(b, tokenCount: 9, reusing: prefix))
        #expect(manager.freeBlockCount == 1)
        #expect(manager.evictableBlockCount == 0)
        #expect(manager.consistencyViolations().isEmpty)
    }

    @Test func evictionTakesTheLeastRecentlyFreedBlocksTailFirst() throws {
        let manager = try KVBlockManager(blockCount: 6, blockSize: 2)
        let first: [Int32] = [1, 1, 2, 2, 3]
        let second: [Int32] = [7, 7, 8, 8, 9]
        #expect(manager.allocate(a, tokenCount: 5))
        manager.markComputed(a, tokens: first, computedTokenCount: 5, adapterName: nil)
        #expect(manager.allocate(b, tokenCount: 5))
        manager.markComputed(b, tokens: second, computedTokenCount: 5, adapterName: nil)
        let tableA = manager.blockTable(of: a), tableB = manager.blockTable(of: b)
        manager.free(a)
        manager.free(b)
        // a's tail, then a's head, then b's tail, then b's head.
        #expect(manager.evictionOrder == [tableA[1], tableA[0], tableB[1], tableB[0]])

        // Two uncached blocks are free: the third new block evicts a's tail block.
        #expect(manager.allocate(c, tokenCount: 6))
        #expect(manager.blockTable(of: c).contains(tableA[1]))
        #expect(manager.cachedPrefix(of: first, adapterName: nil).tokenCount == 2)
        #expect(manager.cachedPrefix(of: second, adapterName: nil).tokenCount == 4)

        // Reusing b's prefix makes it the most recently used: a's head goes next, then b's.
        let prefix = manager.cachedPrefix(of: second, adapterName: nil)
        let d = SequenceID(rawValue: 4)
        #expect(manager.allocate(d, tokenCount: 4, reusing: prefix))
        manager.free(d)
        #expect(manager.evictionOrder == [tableA[0], tableB[1], tableB[0]])
        #expect(manager.consistencyViolations().isEmpty)
    }

    @Test func droppingAnAdaptersBlocksMakesItsPrefixesMiss() throws {
        let manager = try KVBlockManager(blockCount: 8, blockSize: 4)
        let prompt: [Int32] = Array(0..<9)
        for (id, adapter) in [(a, "x"), (b, "y")] {
            #expect(manager.allocate(id, tokenCount: 9))
            manager.markComputed(id, tokens: prompt, computedTokenCount: 9, adapterName: adapter)
            manager.free(id)
        }
        manager.removeCachedBlocks(adapterName: "x")
        #expect(manager.cachedPrefix(of: prompt, adapterName: "x").tokenCount == 0)
        #expect(manager.cachedPrefix(of: prompt, adapterName: "y").tokenCount == 8)
        #expect(manager.evictableBlockCount == 2)
        manager.removeCachedBlocks(adapterName: nil, allAdapters: true)
        #expect(manager.cachedBlockCount == 0)
        #expect(manager.freeBlockCount == 8)
        #expect(manager.consistencyViolations().isEmpty)
    }

    @Test func withPrefixCachingOffNothingIsShared() throws {
        let manager = try KVBlockManager(blockCount: 8, blockSize: 4, enablePrefixCaching: false)
        let prompt: [Int32] = Array(0..<9)
        #expect(manager.allocate(a, tokenCount: 9))
        manager.markComputed(a, tokens: prompt, computedTokenCount: 9, adapterName: nil)
        #expect(manager.cachedPrefix(of: prompt, adapterName: nil).tokenCount == 0)
        #expect(manager.cachedBlockCount == 0)
        manager.free(a)
        #expect(manager.evictableBlockCount == 0)
    }
}
