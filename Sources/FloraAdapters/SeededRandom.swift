// A small seeded generator so that fresh adapters, tests and benchmarks are reproducible
// everywhere (SplitMix64, Steele, Lea & Flood 2014; normals by Box–Muller).

import Foundation

/// SplitMix64: 64-bit state, passes BigCrush, one add and three xor-shift-multiplies per draw.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 24 random bits.
    public mutating func nextUnit() -> Float { Float(next() >> 40) * 0x1p-24 }

    /// Uniform in [low, high).
    public mutating func nextUniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * nextUnit() }

    /// Standard normal, N(0, 1), by Box–Muller (one draw per call; the second is discarded for simplicity).
    public mutating func nextNormal() -> Float {
        let u1 = Double(next() >> 11) * 0x1p-53  // [0, 1)
        let u2 = Double(next() >> 11) * 0x1p-53
        let radius = (-2 * log(1 - u1)).squareRoot()  // 1 - u1 in (0, 1]: log is finite
        return Float(radius * cos(2 * Double.pi * u2))
    }
}

