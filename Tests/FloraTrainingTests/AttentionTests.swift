// The blocked causal attention (matrix products per segment and head) against its plain-loop reference.

import FloraTensor
import FloraTraining
import Foundation
import Testing

@Suite struct AttentionTests {
    @Test("Blocked attention equals the reference, forward and backward, over segments of many lengths", arguments: [
        (4, 2, 8, [1, 7, 33, 64, 2], nil), (2, 2, 16, [40], nil), (6, 1, 8, [3, 5], nil), (4, 4, 8, [9, 20], Float(1)),
    ] as [(Int, Int, Int, [Int], Float?)])
    func blockedAttentionMatchesReference(heads: Int, kvHeads: Int, headDim: Int, lengths: [Int], scale: Float?) {
        var segments: [Range<Int>] = []
        for length in lengths { segments.append((segments.last?.upperBound ?? 0)..<((segments.last?.upperBound ?? 0) + length)) }
        let t = segments.last!.upperBound, qd = heads * headDim, kvd = kvHeads * headDim
        var generator = SeededGenerator(seed: 99)
        func random(_ count: Int) -> [Float] { (0..<count).map { _ in generator.nextGaussian() } }
        let q = random(t * qd), k = random(t * kvd), v = random(t * kvd), dOut = random(t * qd)
        func run(_ blocked: Bool) -> [[Float]] {
            var out = [Float](repeating: 0, count: t * qd), lse = [Float](repeating: 0, count: t * heads)
            var dq = [Float](repeating: 0, count: t * qd), dk = [Float](repeating: 0, count: t * kvd), dv = dk
            if blocked {
                let attention = CausalAttention(heads: heads, kvHeads: kvHeads, headDim: headDim, scale: scale)
                attention.forward(q: q, k: k, v: v, segments: segments, out: &out, lse: &lse)
                attention.backward(dOut: dOut, q: q, k: k, v: v, out: out, lse: lse, segments: segments, dq: &dq, dk: &dk, dv: &dv)
            } else {
                let attention = CausalAttentionReference(heads: heads, kvHeads: kvHeads, headDim: headDim, scale: scale)
                attention.forward(q: q, k: k, v: v, segments: segments, out: &out, lse: &lse)
                attention.backward(dOut: dOut, q: q, k: k, v: v, out: out, lse: lse, segments: segments, dq: &dq, dk: &dk, dv: &dv)
            }
            return [out, lse, dq, dk, dv]
        }
        let (blocked, reference) = (run(true), run(false))
        for (name, (a, b)) in zip(["out", "lse", "dq", "dk", "dv"], zip(blocked, reference)) {
            let scale = b.map { abs($0) }.max()!
            let difference = zip(a, b).map { abs($0 - $1) }.max()!
            #expect(difference <= 1e-5 * scale, "\(name): max difference \(difference) of max \(scale)")
        }
    }
}

@Suite struct FastExpTests {
    @Test("The SIMD exponential is within 3e-7 relative of the libm one over its range")
    func fastExpAccuracy() {
        var values = stride(from: Float(-87), through: 88, by: 0.001).map { $0 }
        values += [0, -0, 1, -1, 0.5, 1e-8, -1e-8]
        let count = values.count
        var results = values
        results.withUnsafeMutableBufferPointer { FastExp.expInPlace($0.baseAddress!, count: count) }
        var worst: Double = 0
        for (x, y) in zip(values, results) {
            let exact = Foundation.exp(Double(x))
            worst = max(worst, abs(Double(y) - exact) / exact)
        }
        #expect(worst < 3e-7, "max relative error \(worst)")
    }
}
