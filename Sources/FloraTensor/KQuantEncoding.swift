// A plain quantizer for the K-quants (KQuantBlocks.swift), so that tests, benchmarks and the
// GGUF writer can make K-quant blocks from fp32 weights. It is not llama.cpp's quantizer: ggml
// searches for the scale and min of each group that minimise the (importance-weighted) error
// (make_qkx2_quants, make_qx_quants); this rounds from the group's range once, so its error
// is somewhat larger. Any blocks it writes decode exactly as ggml's would.

extension BlockFormat {
    /// Encodes `blocks · 256` floats into `blocks` super-blocks. Per group of 16 or 32 values:
    /// - with mins (Q2_K, Q4_K, Q5_K): `lo = min(0, min x)`, `scale = (max x − lo) / qmax`,
    ///   `min = −lo`; `d = max scale / smax`, `dmin = max min / smax` (halves), each group's scale
    ///   and min rounded to `smax` steps of them, then `q = round((x + dl_min) / dl)` in `0…qmax`
    ///   (qmax 3, 15, 31; smax 15, 63, 63);
    /// - without (Q3_K, Q6_K): `scale = v / −bias` for the value `v` of largest magnitude,
    ///   `d = max |scale| / smax`, each scale rounded to a signed step of `d`, then
    ///   `q = round(x / dl)` in `−bias … bias − 1` (bias 4, 32; smax 31, 127).
    /// Rounding is to nearest, ties away from zero; NaN and infinities give bad codes, not traps.
    func quantizeKQuant(_ source: UnsafePointer<Float>, blocks: Int, into destination: UnsafeMutableRawPointer) {
        withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { groupValues in
            let groupScale = groupValues.baseAddress!, groupMin = groupScale + 16
            withKQuantParts { parts in
                for b in 0..<blocks {
                    encodeSuperBlock(source + 256 * b, scale: groupScale, min: groupMin, into: &parts)
                    packSuperBlock(parts, into: destination + b * bytesPerBlock)
                }
            }
        }
    }

    private func encodeSuperBlock(
        _ x: UnsafePointer<Float>, scale: UnsafeMutablePointer<Float>, min groupMin: UnsafeMutablePointer<Float>,
        into parts: inout KQuantParts
    ) {
        let groupSize = kQuantGroupSize, groups = 256 / groupSize
        func rounded(_ value: Float) -> Float { value.rounded(.toNearestOrAwayFromZero) }
        if kQuantHasMins {
            let qmax: Float = self == .q2_K ? 3 : self == .q4_K ? 15 : 31
            let smax: Float = self == .q2_K ? 15 : 63
            var largestScale: Float = 0, largestMin: Float = 0
            for g in 0..<groups {
                var lo: Float = 0, hi = -Float.greatestFiniteMagnitude
                for i in g * groupSize ..< (g + 1) * groupSize {
                    lo = Swift.min(lo, x[i])
                    hi = Swift.max(hi, x[i])
                }
                scale[g] = Swift.max(0, hi - lo) / qmax
                groupMin[g] = -lo
                largestScale = Swift.max(largestScale, scale[g])
                largestMin = Swift.max(largestMin, groupMin[g])
            }
            parts.d = Float16(largestScale / smax)
            parts.dmin = Float16(largestMin / smax)
            let d = Float(parts.d), dmin = Float(parts.dmin)
            for g in 0..<groups {
                let sc = d > 0 ? Self.clamped(rounded(scale[g] / d), 0, smax) : 0
                let m = dmin > 0 ? Self.clamped(rounded(groupMin[g] / dmin), 0, smax) : 0
                parts.scales[g] = Int8(sc)
                parts.mins[g] = Int8(m)
                let dl = d * sc, ml = dmin * m
                let inverse: Float = dl > 0 ? 1 / dl : 0
                for i in g * groupSize ..< (g + 1) * groupSize {
                    parts.codes[i] = Int8(Self.clamped(rounded((x[i] + ml) * inverse), 0, qmax))
                }
            }
        } else {
            let bias: Float = self == .q3_K ? 4 : 32
            let smax: Float = self == .q3_K ? 31 : 127
            var largest: Float = 0
            for g in 0..<groups {
                var v: Float = 0
                for i in g * groupSize ..< (g + 1) * groupSize where abs(x[i]) > abs(v) { v = x[i] }
                scale[g] = v / -bias
                largest = Swift.max(largest, abs(scale[g]))
            }
            parts.d = Float16(largest / smax)
            parts.dmin = 0
            let d = Float(parts.d)
            for g in 0..<groups {
                let sc = d > 0 ? Self.clamped(rounded(scale[g] / d), -smax - 1, smax) : 0
                parts.scales[g] = Int8(sc)
                parts.mins[g] = 0
                let dl = d * sc
                let inverse: Float = dl != 0 ? 1 / dl : 0
                for i in g * groupSize ..< (g + 1) * groupSize {
                    parts.codes[i] = Int8(Self.clamped(rounded(x[i] * inverse), -bias, bias - 1))
                }
            }
        }
    }
}
