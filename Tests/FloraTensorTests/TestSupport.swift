// Random inputs and the norm-relative comparison that the kernel tests share.
import FloraTensor

/// A small seeded generator (xorshift64*), so that every failure reproduces.
struct TestRandom {
    private var state: UInt64

    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }

    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }

    /// Uniform in [-1, 1).
    mutating func float() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }

    mutating func tensor(_ shape: [Int]) -> Tensor {
        let t = Tensor(zeros: shape)
        for index in 0..<t.count { t.pointer[index] = float() }
        return t
    }
}

/// `‖actual − expected‖ / ‖expected‖` (the absolute error when `expected` is zero), in Double.
func relativeError(_ actual: Tensor, _ expected: Tensor) -> Double {
    precondition(actual.count == expected.count)
    var difference = 0.0
    var norm = 0.0
    for index in 0..<actual.count {
        let e = Double(expected.pointer[index])
        let d = Double(actual.pointer[index]) - e
        difference += d * d
        norm += e * e
    }
    return norm > 0 ? (difference / norm).squareRoot() : difference.squareRoot()
}

func copy(_ t: Tensor) -> Tensor { Tensor(shape: t.shape, values: t.toArray()) }
