// The identity of a full KV block for the prefix cache: a hash chain as in vLLM's automatic
// prefix caching, over (parent block's hash, the block's token ids, the adapter's name).
// The adapter is part of the key because an adapter on k_proj/v_proj changes what the block
// holds. FNV-1a (64-bit) rather than `Hasher`, whose seed changes with every process: the
// same prefix must give the same hash in every replica, so a router can compare them.

import FloraTensor

public enum BlockHash {
    /// The "parent" of a sequence's first block.
    public static let root: UInt64 = FNV1a.offsetBasis

    /// FNV-1a over the parent hash (8 bytes, little-endian), each token id (4 bytes,
    /// little-endian), then 0 for no adapter or 1, the name's UTF-8 length (8 bytes) and bytes.
    public static func of(parent: UInt64, tokens: ArraySlice<Int32>, adapterName: String?) -> UInt64 {
        var hash = FNV1a()
        hash.mix(parent)
        for token in tokens { hash.mix(UInt32(bitPattern: token)) }
        if let adapterName {
            hash.mix(byte: 1)
            hash.mix(UInt64(adapterName.utf8.count))
            hash.mix(utf8: adapterName)
        } else {
            hash.mix(byte: 0)
        }
        return hash.value
    }
}
