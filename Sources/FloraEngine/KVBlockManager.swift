// Bookkeeping of the paged KV cache (vLLM's block manager): which physical block of
// `PagedKVCache` holds which positions of which sequence. Blocks are reference counted so that
// full prompt blocks can be shared through the prefix cache (KVBlockManager+PrefixCache.swift).
// Pure bookkeeping: no tensor is touched here.
//
// A block is in exactly one of three places:
// - held by sequences (reference count ≥ 1);
// - free and holding nothing reusable (`uncachedFree`);
// - free but still holding a cached full block (`evictable`, least recently freed first):
//   a later request may take it back through a prefix hit, or allocation evicts it.
// Allocation prefers blocks that hold nothing, so cached prefixes live as long as possible.

/// A block that the prefix cache can hand to another sequence.
struct CachedBlock {
    var hash: UInt64
    /// Unique for every registration, never reused: a child names its parent by it, so a child
    /// whose parent was evicted (and the parent's block reused for other tokens) is never matched.
    var entryID: UInt64
    var parentEntryID: UInt64
    var adapterName: String?
    var tokens: [Int32]   // [blockSize]
}

/// The link of a sequence's full block in its hash chain.
struct BlockLink: Sendable, Equatable {
    var hash: UInt64
    var entryID: UInt64
    static let root = BlockLink(hash: BlockHash.root, entryID: 0)
}

struct SequenceBlocks {
    var blocks: [Int32] = []
    /// One link per leading block whose tokens are all computed; those blocks are read-only.
    var chain: [BlockLink] = []
}

public final class KVBlockManager {
    public let blockCount: Int
    /// Positions per block (tokens).
    public let blockSize: Int
    public let prefixCachingEnabled: Bool

    /// Prompt tokens found in the prefix cache at admission, and those not found (vLLM's
    /// prefix-cache hit rate is hits / (hits + misses)).
    public internal(set) var prefixCacheHitTokens = 0
    public internal(set) var prefixCacheMissTokens = 0

    var referenceCounts: [Int32]          // [blockCount]
    var uncachedFree: [Int32]             // a stack; popped from the end
    var evictable = BlockLRUList(blockCount: 0)
    var cachedBlocks: [CachedBlock?]      // [blockCount]
    var cacheIndex: [UInt64: Int32] = [:] // block hash → block
    var liveEntries: [UInt64: Int32] = [:] // entry id → block, for every cached block
    var sequences: [SequenceID: SequenceBlocks] = [:]
    var nextEntryID: UInt64 = 1

    public init(blockCount: Int, blockSize: Int = 16, enablePrefixCaching: Bool = true) throws(SchedulerError) {
        guard blockCount >= 1 else { throw .invalidConfiguration("the KV pool needs at least 1 block, got \(blockCount)") }
        guard blockSize >= 1 else { throw .invalidConfiguration("the KV block size must be ≥ 1 token, got \(blockSize)") }
        guard blockCount <= Int(Int32.max) else {
            throw .invalidConfiguration("the KV pool holds at most \(Int32.max) blocks, got \(blockCount)")
        }
        self.blockCount = blockCount
        self.blockSize = blockSize
        prefixCachingEnabled = enablePrefixCaching
        referenceCounts = Array(repeating: 0, count: blockCount)
        uncachedFree = (0..<Int32(blockCount)).reversed()   // block 0 is handed out first
        evictable = BlockLRUList(blockCount: blockCount)
        cachedBlocks = Array(repeating: nil, count: blockCount)
    }

    // MARK: Metrics

    /// Blocks that allocation can take: those holding nothing plus the evictable cached ones.
    public var freeBlockCount: Int { uncachedFree.count + evictable.count }
    /// Fraction of the pool held by sequences, 0...1 (vLLM's `kv_cache_usage_perc`).
    public var usage: Double { Double(blockCount - freeBlockCount) / Double(blockCount) }
    /// Blocks holding a reusable prefix block, held or evictable.
    public var cachedBlockCount: Int { liveEntries.count }
    /// Free blocks that still hold a cached prefix block.
    public var evictableBlockCount: Int { evictable.count }
    /// Evictable blocks, the next one to be evicted first.
    public var evictionOrder: [Int32] { evictable.blocks }

    // MARK: Queries

    public func blocksNeeded(forTokens tokens: Int) -> Int { (max(0, tokens) + blockSize - 1) / blockSize }
    public func blockTable(of id: SequenceID) -> [Int32] { sequences[id]?.blocks ?? [] }
    public func referenceCount(ofBlock block: Int32) -> Int { Int(referenceCounts[Int(block)]) }
    public var sequenceCount: Int { sequences.count }
    public func holdsBlocks(for id: SequenceID) -> Bool { sequences[id] != nil }

    // MARK: Allocation

    /// Makes the block table of `id` cover positions `0..<tokenCount`, taking new blocks from
    /// the free pool (evicting least recently used cached blocks when only those are left).
    /// A sequence without blocks first takes `prefix` (found by `cachedPrefix(of:adapterName:)`
    /// just before), whose blocks it shares read-only. Returns false, changing nothing, when
    /// the pool is short, or would keep fewer than `reserve` blocks free afterwards.
    public func allocate(_ id: SequenceID, tokenCount: Int, reusing prefix: CachedPrefix? = nil, keepingFree reserve: Int = 0) -> Bool {
        var sequence = sequences[id] ?? SequenceBlocks()
        let isNew = sequence.blocks.isEmpty
        var shared: [Int32] = []
        var links: [BlockLink] = []
        if isNew, let prefix {
            // Only blocks still cached under the same registration are taken.
            for (block, link) in zip(prefix.blocks, prefix.links) {
                guard cachedBlocks[Int(block)]?.entryID == link.entryID else { break }
                shared.append(block)
                links.append(link)
            }
        }
        let newBlocks = max(0, blocksNeeded(forTokens: tokenCount) - sequence.blocks.count - shared.count)
        let revived = shared.reduce(0) { $0 + (referenceCounts[Int($1)] == 0 ? 1 : 0) }
        guard newBlocks + revived + reserve <= freeBlockCount else { return false }

        for block in shared {
            evictable.remove(block)
            referenceCounts[Int(block)] += 1
        }
        sequence.blocks += shared
        sequence.chain += links
        if isNew, let prefix, prefixCachingEnabled {
            let hits = shared.count * blockSize
            prefixCacheHitTokens += hits
            prefixCacheMissTokens += max(0, prefix.queriedTokenCount - hits)
        }
        for _ in 0..<newBlocks {
            let block = takeFreeBlock()
            referenceCounts[Int(block)] = 1
            sequence.blocks.append(block)
        }
        sequences[id] = sequence
        return true
    }

    /// Gives back every block of `id`. Its computed full blocks stay in the prefix cache; the
    /// last ones are queued for eviction first, since a shared prefix is more likely to be
    /// asked for again than a sequence's tail.
    public func free(_ id: SequenceID) {
        guard let sequence = sequences.removeValue(forKey: id) else { return }
        for block in sequence.blocks.reversed() {
            referenceCounts[Int(block)] -= 1
            guard referenceCounts[Int(block)] == 0 else { continue }
            if cachedBlocks[Int(block)] != nil { evictable.append(block) } else { uncachedFree.append(block) }
        }
    }

    /// Callers check `freeBlockCount` first.
    private func takeFreeBlock() -> Int32 {
        if let block = uncachedFree.popLast() { return block }
        guard let block = evictable.popFirst() else {
            preconditionFailure("KVBlockManager: allocation past the free count (internal bookkeeping error)")
        }
        uncache(block)
        return block
    }

    /// Forgets what a block holds for the prefix cache (the block itself stays where it is).
    func uncache(_ block: Int32) {
        guard let entry = cachedBlocks[Int(block)] else { return }
        if cacheIndex[entry.hash] == block { cacheIndex[entry.hash] = nil }
        liveEntries[entry.entryID] = nil
        cachedBlocks[Int(block)] = nil
    }
}
