// The identity of a full KV block for the prefix cache: a hash chain as in vLLM's automatic
// prefix caching, over (parent block's hash, the block's token ids, the adapter's name).
// The adapter is part of the key because an adapter on k_proj/v_proj changes what the block
// holds. FNV-1a (64-bit) rather than `Hasher`, whose seed changes with every process: the
// same prefix must give the same hash in every replica, so a router can compare them.

public enum BlockHash {
    /// The "parent" of a sequence's first block.
    public static let root: UInt64 = 0xcbf2_9ce4_8422_2325

    /// FNV-1a over the parent hash (8 bytes, little-endian), each token id (4 bytes,
    /// little-endian), then 0 for no adapter or 1, the name's UTF-8 length (8 bytes) and bytes.
    public static func of(parent: UInt64, tokens: ArraySlice<Int32>, adapterName: String?) -> UInt64 {
        var hash = FNV1a()
        hash.mix(parent)
        for token in tokens { hash.mix(UInt32(bitPattern: token)) }
        if let adapterName {
            hash.mix(byte: 1)
            hash.mix(UInt64(adapterName.utf8.count))
            for byte in adapterName.utf8 { hash.mix(byte: byte) }
        } else {
            hash.mix(byte: 0)
        }
        return hash.value
    }
}

private struct FNV1a {
    var value: UInt64 = 0xcbf2_9ce4_8422_2325
    private static let prime: UInt64 = 0x0000_0100_0000_01b3

    mutating func mix(byte: UInt8) {
        value = (value ^ UInt64(byte)) &* Self.prime
    }

    mutating func mix(_ word: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { mix(byte: UInt8(truncatingIfNeeded: word >> UInt32(shift))) }
    }

    mutating func mix(_ word: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { mix(byte: UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
    }
}
