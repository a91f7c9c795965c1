// A small, fast, seedable random number generator (SplitMix64) for sampling, initialisation
// and tests: the same seed gives the same numbers on every machine.

public struct SeededGenerator: RandomNumberGenerator, Sendable {
    /// SplitMix64's increment, 2⁶⁴/φ (the golden ratio), odd, so the state visits every value.
    static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    /// The generator of one of many streams drawn from one user seed (an epoch's data order, an
    /// adapter of a benchmark set): `seed(seed, stream: stream)`.
    public init(seed: UInt64, stream: UInt64) { self.init(seed: Self.seed(seed, stream: stream)) }

    /// The seed of stream `stream` under `seed`: `seed ^ stream · 2⁶⁴/φ`, so that neighbouring
    /// streams (epoch 1, 2, ...) start far apart.
    public static func seed(_ seed: UInt64, stream: UInt64) -> UInt64 { seed ^ (stream &* increment) }

    public mutating func next() -> UInt64 {
        state &+= Self.increment
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextUnitFloat() -> Float {
        Float(next() >> 40) * (1.0 / 16_777_216.0)
    }

    /// Uniform in [low, high).
    public mutating func nextUniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * nextUnitFloat() }

    /// Standard normal (Box–Muller).
    public mutating func nextGaussian() -> Float {
        let u1 = max(Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0), 1e-300)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
