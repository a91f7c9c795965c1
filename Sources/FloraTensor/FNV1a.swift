// FNV-1a, 64-bit (Fowler, Noll and Vo; the offset basis and prime of the reference
// implementation). Flora hashes with it wherever a value must be the same in every process and
// on every machine: prefix-cache block keys that a router compares across replicas, weights and
// adapters derived from a name, the data fingerprint a resumed training run checks. Swift's
// `Hasher` is seeded anew in every process, so it cannot serve there.

public struct FNV1a: Sendable {
    public static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    public static let prime: UInt64 = 0x0000_0100_0000_01b3

    @usableFromInline var state: UInt64 = FNV1a.offsetBasis

    @inlinable public init() {}

    /// The hash of everything mixed in so far.
    @inlinable public var value: UInt64 { state }

    /// FNV-1a of the UTF-8 bytes of `text`.
    public static func hash(_ text: String) -> UInt64 {
        var hash = FNV1a()
        hash.mix(utf8: text)
        return hash.value
    }

    @inlinable @inline(__always)
    public mutating func mix(byte: UInt8) {
        state = (state ^ UInt64(byte)) &* Self.prime
    }

    /// The four bytes of `word`, least significant first (little-endian, on every machine).
    @inlinable
    public mutating func mix(_ word: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { mix(byte: UInt8(truncatingIfNeeded: word >> UInt32(shift))) }
    }

    /// The eight bytes of `word`, least significant first.
    @inlinable
    public mutating func mix(_ word: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { mix(byte: UInt8(truncatingIfNeeded: word >> UInt64(shift))) }
    }

    @inlinable
    public mutating func mix(utf8 text: String) {
        for byte in text.utf8 { mix(byte: byte) }
    }

    /// One FNV step over a whole 64-bit word instead of its bytes: a weaker mix than FNV-1a
    /// proper, kept because training checkpoints store fingerprints computed this way and a
    /// resumed run must find the same value.
    @inlinable @inline(__always)
    public mutating func mix(wholeWord word: UInt64) {
        state = (state ^ word) &* Self.prime
    }
}
