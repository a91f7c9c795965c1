// RoAd (2D rotary adaptation, Liao et al. 2024) as PEFT computes it (peft/tuners/road/layer.py,
// `_prepare_cols` and `_apply_road`; DESIGN.md section 1). The layer's output z = W x + b is split
// into groups of `groupSize`; inside a group, element i of the first half is paired with element
// i of the second half (h = groupSize / 2), and each pair is rotated and scaled:
//
//     y[g + i]     = f[g + i]     · z[g + i]     − s[g + i]     · z[g + h + i]
//     y[g + h + i] = f[g + h + i] · z[g + h + i] + s[g + h + i] · z[g + i]
//
// with `f = α cos θ` and `s = α sin θ` per output. The variants differ in how many numbers a pair
// owns: road_1 one θ and α per pair (both halves share them), road_2 one per output, road_4 two
// per output (θ₁, α₁ for f; θ₂, α₂ for s).

import FloraFormats
import FloraTensor
import Foundation

/// RoAd's tensors of one linear layer, with `f` and `s` precomputed.
public struct RoadRotation: Sendable {
    public let variant: PEFTConfig.RoadVariant
    public let groupSize: Int
    public let inputs: Int
    public let outputs: Int
    /// θ and α as PEFT stores them, `[valueCount(variant, outputs)]`.
    public let theta: Tensor
    public let alpha: Tensor
    /// `f`, `[outputs]`: the factor of an output's own value.
    public let first: Tensor
    /// `s`, `[outputs]`: the factor of its partner's value (negated in a group's first half).
    public let second: Tensor

    /// The length of θ and α: outputs / 2, outputs or 2 · outputs.
    public static func valueCount(_ variant: PEFTConfig.RoadVariant, outputs: Int) -> Int {
        switch variant {
        case .road1: outputs / 2
        case .road2: outputs
        case .road4: 2 * outputs
        }
    }

    public init(variant: PEFTConfig.RoadVariant, groupSize: Int, inputs: Int, outputs n: Int, theta: [Float], alpha: [Float]) throws {
        guard groupSize > 0, groupSize % 2 == 0, n > 0, n % groupSize == 0 else {
            throw AdapterError.invalidArgument(
                what: "RoAd group size", expected: "a positive even divisor of the layer's \(n) outputs", found: "\(groupSize)")
        }
        let count = Self.valueCount(variant, outputs: n)
        for (name, values) in [("road_theta", theta), ("road_alpha", alpha)] where values.count != count {
            throw AdapterError.invalidArgument(what: "RoAd \(name)", expected: "\(count) values (\(variant.rawValue), \(n) outputs)", found: "\(values.count)")
        }
        var f = [Float](repeating: 0, count: n), s = f
        for o in 0..<n {
            let (i, j) = Self.parameterIndices(variant, groupSize: groupSize, output: o)
            f[o] = alpha[i] * cos(theta[i])
            s[o] = alpha[j] * sin(theta[j])
        }
        self.variant = variant
        self.groupSize = groupSize
        self.inputs = inputs
        outputs = n
        self.theta = Tensor(shape: [count], values: theta)
        self.alpha = Tensor(shape: [count], values: alpha)
        first = Tensor(shape: [n], values: f)
        second = Tensor(shape: [n], values: s)
    }

    /// The largest even group size up to `limit` (PEFT's default 64) that divides every one of
    /// `outputs`; nil when none does (an odd output count).
    public static func largestGroupSize(dividing outputs: [Int], limit: Int = 64) -> Int? {
        stride(from: limit - limit % 2, through: 2, by: -2).first { g in outputs.allSatisfy { $0 % g == 0 } }
    }

    var byteCount: Int { (theta.count + alpha.count + 2 * outputs) * MemoryLayout<Float>.stride }

    /// Where output `o`'s numbers lie in θ and α: `f[o] = α[first] cos θ[first]`,
    /// `s[o] = α[second] sin θ[second]` (the same index but in road_4).
    @inline(__always)
    public static func parameterIndices(_ variant: PEFTConfig.RoadVariant, groupSize: Int, output o: Int) -> (first: Int, second: Int) {
        let group = o / groupSize, within = o % groupSize
        switch variant {
        case .road1:
            let i = group * (groupSize / 2) + within % (groupSize / 2)
            return (i, i)
        case .road2:
            return (o, o)
        case .road4:
            let i = group * 2 * groupSize + within
            return (i, i + groupSize)
        }
    }

    /// Rotates one output row `y` (`[outputs]`) in place, as this file's header says.
    @inline(__always)
    public static func apply(first f: UnsafePointer<Float>, second s: UnsafePointer<Float>, groupSize: Int, outputs n: Int, to y: UnsafeMutablePointer<Float>) {
        let h = groupSize / 2
        var g = 0
        while g < n {
            for i in g ..< g + h {
                let low = y[i], high = y[i + h]
                y[i] = f[i] * low - s[i] * high
                y[i + h] = f[i + h] * high + s[i + h] * low
            }
            g += groupSize
        }
    }

    /// The transposed rotation of `apply`, in place on `[outputs]` (the backward of `apply`: the
    /// gradient of its input from the gradient of its output):
    ///
    ///     x[g + i]     = f[g + i] · y[g + i] + s[g + h + i] · y[g + h + i]
    ///     x[g + h + i] = f[g + h + i] · y[g + h + i] − s[g + i] · y[g + i]
    @inline(__always)
    public static func applyTransposed(
        first f: UnsafePointer<Float>, second s: UnsafePointer<Float>, groupSize: Int, outputs n: Int, to y: UnsafeMutablePointer<Float>
    ) {
        let h = groupSize / 2
        var g = 0
        while g < n {
            for i in g ..< g + h {
                let low = y[i], high = y[i + h]
                y[i] = f[i] * low + s[i + h] * high
                y[i + h] = f[i + h] * high - s[i] * low
            }
            g += groupSize
        }
    }
}
