// The 32-value formats llama.cpp's K-quant mixes fall back to for rows that are not whole
// 256-value super-blocks (llama-quant.cpp: Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, Q2_K/Q3_K →
// IQ4_NL): a `Q4_K_M` file of SmolLM2 (hidden size 576) is mostly Q5_0. Layouts, as ggml's
// block_q5_0 / block_q5_1 / block_iq4_nl (little-endian):
// - `q5_0`: half `d`, uint32 `qh`, 16 bytes `qs`; `q[j] = (qs[j] & 0xF) | ((qh >> j) & 1) << 4` and
//   `q[j + 16] = (qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4`; `y[i] = d · (q[i] − 16)`.
// - `q5_1`: half `d`, half `m`, `qh`, `qs` as in q5_0; `y[i] = d · q[i] + m`.
// - `iq4_nl`: half `d`, 16 bytes of 4-bit indices (low nibbles first, as q4_0) into a fixed
//   non-linear table of int8 levels; `y[i] = d · table[q[i]]`.
// Q4_0, Q5_0 and IQ4_NL values are `d · (an int8)`, so they become Q8_0 blocks exactly and run
// in the Q8_0 kernels (`transcodeToQ8_0`); Q5_1's offset does not fit, so it is converted to fp32.

extension BlockFormat {
    /// ggml's `kvalues_iq4nl`.
    static let iq4nlLevels: [Int8] = [-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113]

    /// The format a weight in this format is kept in inside the kernels: itself for the formats
    /// with panels of their own, Q8_0 for those `transcodeToQ8_0` converts exactly, nil for the
    /// rest (converted to fp32).
    public var panelFormat: BlockFormat? {
        switch self {
        case .q8_0, .q4_1, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: self
        case .q4_0, .q5_0, .iq4_nl: .q8_0
        case .f32, .f16, .bf16, .q5_1: nil
        }
    }

    /// The signed codes `c` of the block at `block` such that `y[i] = d · c[i]` (q4_0, q5_0, iq4_nl).
    @inline(__always)
    private func signedCodes(_ block: UnsafeRawPointer, into codes: UnsafeMutablePointer<Int8>) {
        func byte(_ offset: Int) -> UInt8 { block.load(fromByteOffset: offset, as: UInt8.self) }
        switch self {
        case .q4_0:
            for j in 0 ..< 16 {
                codes[j] = Int8(Int(byte(2 + j) & 0x0F) - 8)
                codes[j + 16] = Int8(Int(byte(2 + j) >> 4) - 8)
            }
        case .q5_0:
            let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            for j in 0 ..< 16 {
                let low = Int(byte(6 + j) & 0x0F) | Int((qh >> UInt32(j)) & 1) << 4
                let high = Int(byte(6 + j) >> 4) | Int((qh >> UInt32(j + 16)) & 1) << 4
                codes[j] = Int8(low - 16)
                codes[j + 16] = Int8(high - 16)
            }
        case .iq4_nl:
            for j in 0 ..< 16 {
                codes[j] = Self.iq4nlLevels[Int(byte(2 + j) & 0x0F)]
                codes[j + 16] = Self.iq4nlLevels[Int(byte(2 + j) >> 4)]
            }
        default:
            preconditionFailure("\(self) has no signed codes")
        }
    }

    /// Rewrites `blocks` blocks of q4_0, q5_0 or iq4_nl at `source` as Q8_0 blocks at
    /// `destination` (34 bytes each) with the same values: `d` is copied, each value's int8
    /// code is written as is.
    public func transcodeToQ8_0(_ source: UnsafeRawPointer, blocks: Int, into destination: UnsafeMutableRawPointer) {
        precondition(panelFormat == .q8_0 && self != .q8_0, "\(self) does not transcode to Q8_0")
        for b in 0 ..< blocks {
            let block = source + bytesPerBlock * b, target = destination + 34 * b
            target.copyMemory(from: block, byteCount: 2)
            signedCodes(block, into: (target + 2).assumingMemoryBound(to: Int8.self))
        }
    }

    func dequantizeFallback(_ source: UnsafeRawPointer, blocks: Int, into destination: UnsafeMutablePointer<Float>) {
        var codes = [Int8](repeating: 0, count: 32)
        for b in 0 ..< blocks {
            let block = source + bytesPerBlock * b
            let out = destination + 32 * b
            let d = Self.half(block, 0)
            if self == .q5_1 {
                let m = Self.half(block, 2)
                let qh = UInt32(littleEndian: block.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
                for j in 0 ..< 16 {
                    let byte = block.load(fromByteOffset: 8 + j, as: UInt8.self)
                    out[j] = d * Float(UInt32(byte & 0x0F) | ((qh >> UInt32(j)) & 1) << 4) + m
                    out[j + 16] = d * Float(UInt32(byte >> 4) | ((qh >> UInt32(j + 16)) & 1) << 4) + m
                }
                continue
            }
            codes.withUnsafeMutableBufferPointer { codes in
                signedCodes(block, into: codes.baseAddress!)
                for j in 0 ..< 32 { out[j] = d * Float(codes[j]) }
            }
        }
    }

    /// Element `i` of the block at `block`, straight from the layouts above.
    func fallbackReferenceValue(_ i: Int, in block: UnsafeRawPointer) -> Float {
        func byte(_ offset: Int) -> UInt8 { block.load(fromByteOffset: offset, as: UInt8.self) }
        let nibble = { (first: Int) -> Int in i < 16 ? Int(byte(first + i) & 0x0F) : Int(byte(first + i - 16) >> 4) }
        let highBit = { (at: Int) -> Int in Int(byte(at + i / 8) >> UInt8(i % 8)) & 1 }
        switch self {
        case .q5_0: return Self.half(block, 0) * Float((nibble(6) | highBit(2) << 4) - 16)
        case .q5_1: return Self.half(block, 0) * Float(nibble(8) | highBit(4) << 4) + Self.half(block, 2)
        case .iq4_nl: return Self.half(block, 0) * Float(Self.iq4nlLevels[nibble(2)])
        default: preconditionFailure("\(self) is not a fallback format")
        }
    }

    /// Encodes as ggml's reference quantizers do for q5_0 (`d = v / −16`, `v` the value of largest
    /// magnitude, `q = min(31, ⌊x / d + 16.5⌋)`) and q5_1 (`d = (max − min) / 31`, `m = min`,
    /// `q = min(31, ⌊(x − m) / d + 0.5⌋)`); iq4_nl with `d = v / −127` and each value's nearest
    /// level (ggml then searches scales near `d` for a smaller error).
    func quantizeFallback(_ source: UnsafePointer<Float>, blocks: Int, into destination: UnsafeMutableRawPointer) {
        func storeHalf(_ value: Float, _ offset: Int, _ block: UnsafeMutableRawPointer) {
            block.storeBytes(of: Float16(value).bitPattern.littleEndian, toByteOffset: offset, as: UInt16.self)
        }
        for b in 0 ..< blocks {
            let x = source + 32 * b, block = destination + bytesPerBlock * b
            var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude, amax: Float = 0, vmax: Float = 0
            for j in 0 ..< 32 {
                lo = min(lo, x[j]); hi = max(hi, x[j])
                if abs(x[j]) > amax { amax = abs(x[j]); vmax = x[j] }
            }
            var q = [Int](repeating: 0, count: 32)
            switch self {
            case .q5_0:
                let d = vmax / -16, id: Float = d != 0 ? 1 / d : 0
                storeHalf(d, 0, block)
                for j in 0 ..< 32 { q[j] = Int(Self.clamped((x[j] * id + 16.5).rounded(.down), 0, 31)) }
            case .q5_1:
                let d = (hi - lo) / 31, id: Float = d != 0 ? 1 / d : 0
                storeHalf(d, 0, block)
                storeHalf(lo, 2, block)
                for j in 0 ..< 32 { q[j] = Int(Self.clamped(((x[j] - lo) * id + 0.5).rounded(.down), 0, 31)) }
            default:  // iq4_nl: the level nearest x / d
                let d = vmax / -127
                storeHalf(d, 0, block)
                let dh = Float(Float16(d))
                for j in 0 ..< 32 {
                    let target = dh != 0 ? x[j] / dh : 0
                    q[j] = Self.iq4nlLevels.indices.min { abs(Float(Self.iq4nlLevels[$0]) - target) < abs(Float(Self.iq4nlLevels[$1]) - target) }!
                }
            }
            let codesAt = self == .q5_1 ? 8 : self == .q5_0 ? 6 : 2
            var qh: UInt32 = 0
            for j in 0 ..< 16 {
                block.storeBytes(of: UInt8(q[j] & 0x0F) | UInt8(q[j + 16] & 0x0F) << 4, toByteOffset: codesAt + j, as: UInt8.self)
                qh |= UInt32((q[j] >> 4) & 1) << UInt32(j) | UInt32((q[j + 16] >> 4) & 1) << UInt32(j + 16)
            }
            if self != .iq4_nl { block.storeBytes(of: qh.littleEndian, toByteOffset: codesAt - 4, as: UInt32.self) }
        }
    }
}
