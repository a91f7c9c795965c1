// ggml's K-quants Q2_K, Q3_K, Q4_K, Q5_K and Q6_K: 256-value super-blocks (QK_K) cut into
// groups of 16 or 32 values, each group with a small integer scale (and for Q2_K, Q4_K and
// Q5_K a small integer min), scaled by the super-block's half floats `d` and `dmin`. Layouts as
// ggml's block_q2_K … block_q6_K (ggml-common.h) and the dequantizers of the `gguf` Python
// package (gguf/quants.py), which Tests/Fixtures/kquants checks bit for bit.
//
// Every K-quant value is, with g = i / groupSize,
//
//     y[i] = (d · scale[g]) · q[i] − dmin · min[g]              (fp32, in that order)
//
// where Q3_K and Q6_K have no mins (min = dmin = 0: `x − 0` is `x`, bit for bit). d · scale and
// dmin · min are exact in fp32 (11 significant bits times at most 8), and so is their product
// with q (at most 6 more bits, 23 in all), so the only rounding is the subtraction's — which is
// why a fused `q · dl + (−ml)` in the kernels gives the same bits.
//
// Byte layouts, as plain loops over one super-block (`half(o)` is the IEEE half at byte o; i < 256):
//
// Q2_K, 84 bytes: scales[16] @0, qs[64] @16, d = half(80), dmin = half(82). i = 128h + 32s + l:
//     scale[g] = scales[g] & 15, min[g] = scales[g] >> 4                       (g < 16, 16 values)
//     q[i] = (qs[32h + l] >> 2s) & 3
// Q3_K, 110 bytes: hmask[32] @0, qs[64] @32, scales[12] @96, d = half(108). i = 128h + 32s + l:
//     scale[j] = ((scales[j % 8] >> 4(j / 8)) & 15 | ((scales[8 + j % 4] >> 2(j / 4)) & 3) << 4) − 32
//     q[i] = ((qs[32h + l] >> 2s) & 3) − (bit 4h + s of hmask[l] set ? 0 : 4)     (16 values)
// Q4_K, 144 bytes: d = half(0), dmin = half(2), scales[12] @4, qs[128] @16. i = 64c + 32s + l:
//     j < 4:  scale[j] = scales[j] & 63,  min[j] = scales[j + 4] & 63               (32 values)
//     j ≥ 4:  scale[j] = scales[j + 4] & 15 | (scales[j − 4] >> 6) << 4,
//             min[j]   = scales[j + 4] >> 4 | (scales[j] >> 6) << 4
//     q[i] = (qs[32c + l] >> 4s) & 15
// Q5_K, 176 bytes: d = half(0), dmin = half(2), scales[12] @4 (as Q4_K), qh[32] @16, qs[128] @48:
//     q[i] = (qs[32c + l] >> 4s) & 15 | ((qh[l] >> (i / 32)) & 1) << 4         (32 values)
// Q6_K, 210 bytes: ql[128] @0, qh[64] @128, scales[16] (int8) @192, d = half(208). i = 128h + 32s + l:
//     scale[g] = scales[g]                                                     (16 values)
//     q[i] = ((ql[64h + 32(s % 2) + l] >> 4(s / 2)) & 15 | ((qh[32h + l] >> 2s) & 3) << 4) − 32
//
// ggml also defines Q8_K (fp32 d, 256 int8, 16 int16 sums), but only as the activation side of
// its dot products: ggml has no dequantizer for it and no quantizer writes it into model files,
// so Flora refuses it (GGUFType.blockFormat).

/// A K-quant super-block taken apart: `y[i] = (d · scales[g]) · codes[i] − dmin · mins[g]`,
/// `g = i / groupSize`. The pointers are caller-owned scratch (`withKQuantParts`).
struct KQuantParts {
    var d: Float16 = 0
    var dmin: Float16 = 0
    let codes: UnsafeMutablePointer<Int8>   // [256], the signed q
    let scales: UnsafeMutablePointer<Int8>  // [16] (8 used by Q4_K and Q5_K)
    let mins: UnsafeMutablePointer<Int8>    // [16], zero for Q3_K and Q6_K

    /// The decoded value `i`, in the order of the formula.
    @inline(__always)
    func value(_ i: Int, groupSize: Int) -> Float {
        let g = i / groupSize
        return (Float(d) * Float(scales[g])) * Float(codes[i]) - Float(dmin) * Float(mins[g])
    }
}

/// Calls `body` with parts over 288 bytes of stack scratch, zeroed.
@inline(__always)
func withKQuantParts<R>(_ body: (inout KQuantParts) throws -> R) rethrows -> R {
    try withUnsafeTemporaryAllocation(of: Int8.self, capacity: 288) { scratch in
        let base = scratch.baseAddress!
        base.initialize(repeating: 0, count: 288)
        var parts = KQuantParts(codes: base, scales: base + 256, mins: base + 272)
        return try body(&parts)
    }
}

extension BlockFormat {
    /// Whether this is one of ggml's K-quants (256-value super-blocks).
    public var isKQuant: Bool {
        switch self {
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: true
        default: false
        }
    }

    /// Values per scale (and min) inside a K-quant super-block.
    var kQuantGroupSize: Int { self == .q4_K || self == .q5_K ? 32 : 16 }

    /// Whether the K-quant has mins (`dmin`): Q2_K, Q4_K and Q5_K.
    var kQuantHasMins: Bool { self == .q2_K || self == .q4_K || self == .q5_K }

    /// Reads one super-block of this K-quant at `block` into `parts` (the layout loops above).
    @inline(__always)
    func unpackSuperBlock(_ block: UnsafeRawPointer, into parts: inout KQuantParts) {
        func byte(_ offset: Int) -> UInt8 { block.load(fromByteOffset: offset, as: UInt8.self) }
        let codes = parts.codes, scales = parts.scales, mins = parts.mins
        switch self {
        case .q2_K:
            for g in 0..<16 {
                scales[g] = Int8(byte(g) & 15)
                mins[g] = Int8(byte(g) >> 4)
            }
            for h in 0..<2 {
                for s in 0..<4 {
                    for l in 0..<32 { codes[128 * h + 32 * s + l] = Int8((byte(16 + 32 * h + l) >> UInt8(2 * s)) & 3) }
                }
            }
            parts.d = Self.half16(block, 80)
            parts.dmin = Self.half16(block, 82)
        case .q3_K:
            for j in 0..<16 {
                let low = (byte(96 + j % 8) >> UInt8(4 * (j / 8))) & 15
                let high = (byte(104 + j % 4) >> UInt8(2 * (j / 4))) & 3
                scales[j] = Int8(low | high << 4) - 32
            }
            for h in 0..<2 {
                for s in 0..<4 {
                    for l in 0..<32 {
                        let low = (byte(32 + 32 * h + l) >> UInt8(2 * s)) & 3
                        let high = (byte(l) >> UInt8(4 * h + s)) & 1
                        codes[128 * h + 32 * s + l] = Int8(low | high << 2) - 4
                    }
                }
            }
            parts.d = Self.half16(block, 108)
            parts.dmin = 0
        case .q4_K, .q5_K:
            for j in 0..<4 {
                scales[j] = Int8(byte(4 + j) & 63)
                mins[j] = Int8(byte(8 + j) & 63)
                scales[j + 4] = Int8(byte(12 + j) & 15 | (byte(4 + j) >> 6) << 4)
                mins[j + 4] = Int8(byte(12 + j) >> 4 | (byte(8 + j) >> 6) << 4)
            }
            let qs = self == .q4_K ? 16 : 48
            for c in 0..<4 {
                for s in 0..<2 {
                    for l in 0..<32 {
                        var q = (byte(qs + 32 * c + l) >> UInt8(4 * s)) & 15
                        if self == .q5_K { q |= ((byte(16 + l) >> UInt8(2 * c + s)) & 1) << 4 }
                        codes[64 * c + 32 * s + l] = Int8(q)
                    }
                }
            }
            parts.d = Self.half16(block, 0)
            parts.dmin = Self.half16(block, 2)
        case .q6_K:
            for g in 0..<16 { scales[g] = Int8(bitPattern: byte(192 + g)) }
            for h in 0..<2 {
                for s in 0..<4 {
                    for l in 0..<32 {
                        let low = (byte(64 * h + 32 * (s % 2) + l) >> UInt8(4 * (s / 2))) & 15
                        let high = (byte(128 + 32 * h + l) >> UInt8(2 * s)) & 3
                        codes[128 * h + 32 * s + l] = Int8(low | high << 4) - 32
                    }
                }
            }
            parts.d = Self.half16(block, 208)
            parts.dmin = 0
        default:
            preconditionFailure("\(self) is not a K-quant")
        }
    }

    /// Writes `parts` as one super-block of this K-quant at `block` (the inverse of
    /// `unpackSuperBlock`; codes, scales and mins must be in the format's ranges).
    func packSuperBlock(_ parts: KQuantParts, into block: UnsafeMutableRawPointer) {
        block.initializeMemory(as: UInt8.self, repeating: 0, count: bytesPerBlock)
        let out = block.assumingMemoryBound(to: UInt8.self)
        func bits(_ value: Int8) -> UInt8 { UInt8(bitPattern: value) }
        func storeHalf(_ value: Float16, _ offset: Int) {
            block.storeBytes(of: value.bitPattern.littleEndian, toByteOffset: offset, as: UInt16.self)
        }
        let codes = parts.codes, scales = parts.scales, mins = parts.mins
        switch self {
        case .q2_K:
            for g in 0..<16 { out[g] = bits(scales[g]) | bits(mins[g]) << 4 }
            for h in 0..<2 {
                for s in 0..<4 {
                    for l in 0..<32 { out[16 + 32 * h + l] |= bits(codes[128 * h + 32 * s + l]) << UInt8(2 * s) }
                }
            }
            storeHalf(parts.d, 80)
            storeHalf(parts.dmin, 82)
        case .q3_K:
            for j in 0..<16 {
                let u = bits(scales[j] + 32)
                out[96 + j % 8] |= (u & 15) << UInt8(4 * (j / 8))
                out[104 + j % 4] |= (u >> 4) << UInt8(2 * (j / 4))
            }
            for h in 0..<2 {
                for s in 0..<4 {
                    for l in 0..<32 {
                        let u = bits(codes[128 * h + 32 * s + l] + 4)
                        out[32 + 32 * h + l] |= (u & 3) << UInt8(2 * s)
                        out[l] |= (u >> 2) << UInt8(4 * h + s)
                    }
                }
            }
            storeHalf(parts.d, 108)
        case .q4_K, .q5_K:
            for j in 0..<4 {
                out[4 + j] = bits(scales[j]) | (bits(scales[j + 4]) >> 4) << 6
                out[8 + j] = bits(mins[j]) | (bits(mins[j + 4]) >> 4) << 6
                out[12 + j] = bits(scales[j + 4]) & 15 | (bits(mins[j + 4]) & 15) << 4
            }
            let qs = self == .q4_K ? 16 : 48
            for c in 0..<4 {
                for s in 0..<2 {
                    for l in 0..<32 {
                        let u = bits(codes[64 * c + 32 * s + l])
                        out[qs + 32 * c + l] |= (u & 15) << UInt8(4 * s)
                        if self == .q5_K { out[16 + l] |= (u >> 4) << UInt8(2 * c + s) }
                    }
                }
            }
            storeHalf(parts.d, 0)
            storeHalf(parts.dmin, 2)
        case .q6_K:
            for g in 0..<16 { out[192 + g] = bits(scales[g]) }
            for h in 0..<2 {
                for s in 0..<4 {
                    for l in 0..<32 {
                        let u = bits(codes[128 * h + 32 * s + l] + 32)
                        out[64 * h + 32 * (s % 2) + l] |= (u & 15) << UInt8(4 * (s / 2))
                        out[128 + 32 * h + l] |= (u >> 4) << UInt8(2 * s)
                    }
                }
            }
            storeHalf(parts.d, 208)
        default:
            preconditionFailure("\(self) is not a K-quant")
        }
    }

    /// Decodes `blocks` super-blocks of this K-quant (the optimised decoder of `dequantize`).
    func dequantizeKQuant(_ source: UnsafeRawPointer, blocks: Int, into destination: UnsafeMutablePointer<Float>) {
        let groupSize = kQuantGroupSize
        withKQuantParts { parts in
            for b in 0..<blocks {
                unpackSuperBlock(source + b * bytesPerBlock, into: &parts)
                let out = destination + 256 * b
                for i in 0..<256 { out[i] = parts.value(i, groupSize: groupSize) }
            }
        }
    }

    /// The naive reference: value `i` (< 256) of the super-block at `block`, read straight from
    /// the byte layout at the top of this file, one element at a time.
    func kQuantReferenceValue(_ i: Int, in block: UnsafeRawPointer) -> Float {
        func byte(_ offset: Int) -> Int { Int(block.load(fromByteOffset: offset, as: UInt8.self)) }
        func half(_ offset: Int) -> Float { Float(Self.half16(block, offset)) }
        let h = i / 128, s = (i / 32) % 4, l = i % 32
        switch self {
        case .q2_K:
            let packed = byte(i / 16)
            let q = (byte(16 + 32 * h + l) >> (2 * s)) & 3
            return (half(80) * Float(packed & 15)) * Float(q) - half(82) * Float(packed >> 4)
        case .q3_K:
            let j = i / 16
            let scale = ((byte(96 + j % 8) >> (4 * (j / 8))) & 15 | ((byte(104 + j % 4) >> (2 * (j / 4))) & 3) << 4) - 32
            let q = ((byte(32 + 32 * h + l) >> (2 * s)) & 3) - ((byte(l) >> (4 * h + s)) & 1 == 1 ? 0 : 4)
            return (half(108) * Float(scale)) * Float(q)
        case .q4_K, .q5_K:
            let j = i / 32, c = i / 64, s2 = (i / 32) % 2
            let scale = j < 4 ? byte(4 + j) & 63 : byte(8 + j) & 15 | (byte(j) >> 6) << 4
            let min = j < 4 ? byte(8 + j) & 63 : byte(8 + j) >> 4 | (byte(4 + j) >> 6) << 4
            var q = (byte((self == .q4_K ? 16 : 48) + 32 * c + l) >> (4 * s2)) & 15
            if self == .q5_K { q |= ((byte(16 + l) >> j) & 1) << 4 }
            return (half(0) * Float(scale)) * Float(q) - half(2) * Float(min)
        case .q6_K:
            let scale = Int8(bitPattern: UInt8(byte(192 + i / 16)))
            let low = (byte(64 * h + 32 * (s % 2) + l) >> (4 * (s / 2))) & 15
            let high = (byte(128 + 32 * h + l) >> (2 * s)) & 3
            return (half(208) * Float(scale)) * Float((low | high << 4) - 32)
        default:
            preconditionFailure("\(self) is not a K-quant")
        }
    }

    @inline(__always)
    static func half16(_ base: UnsafeRawPointer, _ offset: Int) -> Float16 {
        Float16(bitPattern: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }
}
