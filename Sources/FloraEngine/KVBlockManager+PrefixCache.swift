// The prefix cache (vLLM's automatic prefix caching): a full block whose tokens are computed is
// registered under its hash chain (BlockHash.swift); a new sequence whose leading full blocks
// have the same tokens, after the same parents, under the same adapter, shares those blocks
// and skips computing them. A hit is checked against the stored tokens, adapter and parent
// registration, so a hash collision can cost a hit but never give wrong keys and values.
// Blocks are registered only once computed (after the step that wrote them), so a block that
// is still being written is never shared.

/// The leading full blocks of a token sequence that the prefix cache already holds.
public struct CachedPrefix: Sendable, Equatable {
    public let blocks: [Int32]
    /// Tokens covered by `blocks`: they count as computed.
    public let tokenCount: Int
    /// Tokens of the sequence looked up (for the hit and miss counters).
    public let queriedTokenCount: Int
    let links: [BlockLink]
}

extension KVBlockManager {
    /// The cached leading full blocks of `tokens` under `adapterName`. At most
    /// `(tokens.count - 1) / blockSize` blocks, so at least the last token is left to compute
    /// and the step yields its logits. Looks only; `allocate(_:tokenCount:reusing:)` takes them.
    public func cachedPrefix(of tokens: [Int32], adapterName: String?) -> CachedPrefix {
        var blocks: [Int32] = []
        var links: [BlockLink] = []
        if prefixCachingEnabled, tokens.count > 1 {
            var parent = BlockLink.root
            for i in 0..<((tokens.count - 1) / blockSize) {
                let slice = tokens[(i * blockSize)..<((i + 1) * blockSize)]
                let hash = BlockHash.of(parent: parent.hash, tokens: slice, adapterName: adapterName)
                guard let block = cacheIndex[hash], let entry = cachedBlocks[Int(block)],
                      entry.parentEntryID == parent.entryID, entry.adapterName == adapterName, entry.tokens.elementsEqual(slice)
                else { break }
                parent = BlockLink(hash: hash, entryID: entry.entryID)
                blocks.append(block)
                links.append(parent)
            }
        }
        return CachedPrefix(blocks: blocks, tokenCount: blocks.count * blockSize, queriedTokenCount: tokens.count, links: links)
    }

    /// Records that `tokens[0..<computedTokenCount]` of `id` are in its blocks, and registers
    /// every block that became full in the prefix cache. `tokens` are the sequence's tokens
    /// (at least `computedTokenCount` of them) and `adapterName` its adapter.
    public func markComputed(_ id: SequenceID, tokens: [Int32], computedTokenCount: Int, adapterName: String?) {
        guard prefixCachingEnabled, var sequence = sequences[id] else { return }
        let fullBlocks = min(min(computedTokenCount, tokens.count) / blockSize, sequence.blocks.count)
        guard sequence.chain.count < fullBlocks else { return }
        while sequence.chain.count < fullBlocks {
            let i = sequence.chain.count
            let parent = sequence.chain.last ?? .root
            let slice = tokens[(i * blockSize)..<((i + 1) * blockSize)]
            sequence.chain.append(register(block: sequence.blocks[i], parent: parent, tokens: slice, adapterName: adapterName))
        }
        sequences[id] = sequence
    }

    /// Drops every cached block of `adapterName` (all adapters and the base model when
    /// `allAdapters`), e.g. when an adapter is unloaded or replaced under the same name: its
    /// keys and values would be stale. Blocks held by running sequences stay theirs.
    public func removeCachedBlocks(adapterName: String?, allAdapters: Bool = false) {
        let blocks = liveEntries.values.filter { allAdapters || cachedBlocks[Int($0)]?.adapterName == adapterName }
        for block in blocks {
            uncache(block)
            if evictable.contains(block) {
                evictable.remove(block)
                uncachedFree.append(block)
            }
        }
    }

    /// The link under which a just-computed full block is known. The block is registered unless
    /// an equal block is registered already (then the sequence's chain continues from that
    /// one), or its hash belongs to different tokens (a collision: the block stays private).
    private func register(block: Int32, parent: BlockLink, tokens: ArraySlice<Int32>, adapterName: String?) -> BlockLink {
        if let entry = cachedBlocks[Int(block)] { return BlockLink(hash: entry.hash, entryID: entry.entryID) }
        let hash = BlockHash.of(parent: parent.hash, tokens: tokens, adapterName: adapterName)
        if let other = cacheIndex[hash], let entry = cachedBlocks[Int(other)] {
            if entry.parentEntryID == parent.entryID, entry.adapterName == adapterName, entry.tokens.elementsEqual(tokens) {
                return BlockLink(hash: hash, entryID: entry.entryID)
            }
            let orphaned = entry.parentEntryID != 0 && liveEntries[entry.parentEntryID] == nil
            guard orphaned else {
                defer { nextEntryID += 1 }
                return BlockLink(hash: hash, entryID: nextEntryID)
            }
            // Its parent was evicted, so no lookup can reach it: give its place to this block.
            uncache(other)
            if evictable.contains(other) {
                evictable.remove(other)
                uncachedFree.append(other)
            }
        }
        let entryID = nextEntryID
        nextEntryID += 1
        cachedBlocks[Int(block)] = CachedBlock(
            hash: hash, entryID: entryID, parentEntryID: parent.entryID, adapterName: adapterName, tokens: Array(tokens))
        cacheIndex[hash] = block
        liveEntries[entryID] = block
        return BlockLink(hash: hash, entryID: entryID)
    }
}
