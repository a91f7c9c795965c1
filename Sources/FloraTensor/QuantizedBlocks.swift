// Block formats of ggml (the GGUF specification's tensor types) and their conversion to and
// from fp32: F32, F16, BF16, the 32-element blocks Q8_0, Q4_0 and Q4_1, laid out as ggml's
// block_q8_0 / block_q4_0 / block_q4_1, Q5_0, Q5_1 and IQ4_NL (FallbackBlocks.swift), and the
// 256-element K-quants Q2_K … Q6_K (KQuantBlocks.swift). Scales are IEEE half floats; data is
// little-endian.
//
// The loops are plain scalar loops on purpose: LLVM vectorises them (with F16C for the half
// conversions when built with -target-cpu native), while the standard library's SIMD
// integer/float conversions compile to slow generic calls (DESIGN.md section 9).

/// A storage format of weight elements, grouped in blocks that share scales.
///
/// Layouts (bytes, little-endian), for a block of `elementsPerBlock` values `y[0..<n]`:
/// - `f32`: one IEEE float. `f16`: one IEEE half. `bf16`: the high 16 bits of a float.
/// - `q8_0`: half `d`, then 32 × int8 `q`; `y[i] = d · q[i]`.
/// - `q4_0`: half `d`, then 16 bytes; byte `j` holds `q[j]` in its low and `q[j + 16]` in its
///   high nibble; `y[i] = d · (q[i] − 8)`.
/// - `q4_1`: half `d`, half `m`, then 16 bytes as in `q4_0`; `y[i] = d · q[i] + m`.
/// - `q5_0`, `q5_1`, `iq4_nl`: laid out at the top of FallbackBlocks.swift.
/// - `q2_K`, `q3_K`, `q4_K`, `q5_K`, `q6_K`: 256-value super-blocks, laid out at the top of
///   KQuantBlocks.swift; `y[i] = (d · scale[g]) · q[i] − dmin · min[g]`.
public enum BlockFormat: String, Sendable, CaseIterable {
    case f32, f16, bf16, q8_0, q4_0, q4_1
    case q5_0, q5_1, iq4_nl
    case q2_K, q3_K, q4_K, q5_K, q6_K

    public var elementsPerBlock: Int {
        switch self {
        case .f32, .f16, .bf16: 1
        case .q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .iq4_nl: 32
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: 256
        }
    }

    public var bytesPerBlock: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .q8_0: 34
        case .q4_0: 18
        case .q4_1: 20
        case .q5_0: 22
        case .q5_1: 24
        case .iq4_nl: 18
        case .q2_K: 84
        case .q3_K: 110
        case .q4_K: 144
        case .q5_K: 176
        case .q6_K: 210
        }
    }

    /// Bytes that `elements` values occupy; nil unless `elements` is a whole number of blocks
    /// (or the size overflows).
    public func byteCount(elements: Int) -> Int? {
        guard elements >= 0, elements % elementsPerBlock == 0 else { return nil }
        let (bytes, overflow) = (elements / elementsPerBlock).multipliedReportingOverflow(by: bytesPerBlock)
        return overflow ? nil : bytes
    }

    /// Decodes `blocks` consecutive blocks at `source` (no alignment needed) into
    /// `blocks · elementsPerBlock` floats at `destination`. Semantics, as a plain loop:
    /// `for i in 0 ..< blocks · elementsPerBlock { destination[i] = referenceValue(at: i, in: source) }`.
    public func dequantize(_ source: UnsafeRawPointer, blocks: Int, into destination: UnsafeMutablePointer<Float>) {
        switch self {
        case .f32:
            for i in 0 ..< blocks {
                destination[i] = Float(bitPattern: UInt32(littleEndian: source.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
            }
        case .f16:
            for i in 0 ..< blocks {
                destination[i] = Self.half(source, 2 * i)
            }
        case .bf16:
            for i in 0 ..< blocks {
                let bits = UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))
                destination[i] = Float(bitPattern: UInt32(bits) << 16)
            }
        case .q8_0:
            for b in 0 ..< blocks {
                let block = source + 34 * b
                let d = Self.half(block, 0)
                let out = destination + 32 * b
                for j in 0 ..< 32 {
                    out[j] = d * Float(block.load(fromByteOffset: 2 + j, as: Int8.self))
                }
            }
        case .q4_0:
            for b in 0 ..< blocks {
                let block = source + 18 * b
                let d = Self.half(block, 0)
                let out = destination + 32 * b
                for j in 0 ..< 16 {
                    let q = block.load(fromByteOffset: 2 + j, as: UInt8.self)
                    out[j] = d * Float(Int32(q & 0x0F) - 8)
                    out[j + 16] = d * Float(Int32(q >> 4) - 8)
                }
            }
        case .q4_1:
            for b in 0 ..< blocks {
                let block = source + 20 * b
                let d = Self.half(block, 0)
                let m = Self.half(block, 2)
                let out = destination + 32 * b
                for j in 0 ..< 16 {
                    let q = block.load(fromByteOffset: 4 + j, as: UInt8.self)
                    out[j] = d * Float(q & 0x0F) + m
                    out[j + 16] = d * Float(q >> 4) + m
                }
            }
        case .q5_0, .q5_1, .iq4_nl:
            dequantizeFallback(source, blocks: blocks, into: destination)
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K:
            dequantizeKQuant(source, blocks: blocks, into: destination)
        }
    }

    /// The naive reference of `dequantize`: element `index` of the blocks at `source`, decoded
    /// straight from the layout description above, one element at a time.
    public func referenceValue(at index: Int, in source: UnsafeRawPointer) -> Float {
        let block = source + (index / elementsPerBlock) * bytesPerBlock
        let i = index % elementsPerBlock
        func byte(_ offset: Int) -> UInt8 { block.load(fromByteOffset: offset, as: UInt8.self) }
        func nibble(_ first: Int) -> Int { i < 16 ? Int(byte(first + i) & 0x0F) : Int(byte(first + i - 16) >> 4) }
        switch self {
        case .f32: return Float(bitPattern: UInt32(byte(0)) | UInt32(byte(1)) << 8 | UInt32(byte(2)) << 16 | UInt32(byte(3)) << 24)
        case .f16: return Self.half(block, 0)
        case .bf16: return Float(bitPattern: UInt32(byte(0)) << 16 | UInt32(byte(1)) << 24)
        case .q8_0: return Self.half(block, 0) * Float(Int8(bitPattern: byte(2 + i)))
        case .q4_0: return Self.half(block, 0) * Float(nibble(2) - 8)
        case .q4_1: return Self.half(block, 0) * Float(nibble(4)) + Self.half(block, 2)
        case .q5_0, .q5_1, .iq4_nl: return fallbackReferenceValue(i, in: block)
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K: return kQuantReferenceValue(i, in: block)
        }
    }

    /// Encodes `blocks · elementsPerBlock` floats into `blocks` blocks at `destination`, rounding
    /// as ggml's reference quantizers (quantize_row_*_ref) do:
    /// - `q8_0`: `d = max|x| / 127`, `q = round(x / d)` (ties away from zero).
    /// - `q4_0`: `d = v / −8` where `v` is the value of largest magnitude, `q = min(15, ⌊x / d + 8.5⌋)`.
    /// - `q4_1`: `d = (max − min) / 15`, `m = min`, `q = min(15, ⌊(x − m) / d + 0.5⌋)`.
    /// - K-quants: a plain min/max rounding (`quantizeKQuant`), not ggml's search for the best
    ///   scales, so its error is somewhat larger than llama.cpp's.
    /// Halves and bf16 round to nearest even. Not a hot path: tests and writers use it.
    public func quantize(_ source: UnsafePointer<Float>, blocks: Int, into destination: UnsafeMutableRawPointer) {
        func storeHalf(_ value: Float, _ offset: Int, _ block: UnsafeMutableRawPointer) {
            block.storeBytes(of: Float16(value).bitPattern.littleEndian, toByteOffset: offset, as: UInt16.self)
        }
        switch self {
        case .f32:
            for i in 0 ..< blocks {
                destination.storeBytes(of: source[i].bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
            }
        case .f16:
            for i in 0 ..< blocks { storeHalf(source[i], 2 * i, destination) }
        case .bf16:
            for i in 0 ..< blocks {
                destination.storeBytes(of: Self.bfloat16Bits(source[i]).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
            }
        case .q8_0:
            for b in 0 ..< blocks {
                let x = source + 32 * b, block = destination + 34 * b
                var amax: Float = 0
                for j in 0 ..< 32 { amax = max(amax, abs(x[j])) }
                let d = amax / 127
                let id: Float = d != 0 ? 1 / d : 0
                storeHalf(d, 0, block)
                for j in 0 ..< 32 {
                    block.storeBytes(of: Int8(Self.clamped((x[j] * id).rounded(.toNearestOrAwayFromZero), -127, 127)), toByteOffset: 2 + j, as: Int8.self)
                }
            }
        case .q4_0:
            for b in 0 ..< blocks {
                let x = source + 32 * b, block = destination + 18 * b
                var amax: Float = 0, vmax: Float = 0
                for j in 0 ..< 32 where abs(x[j]) > amax { amax = abs(x[j]); vmax = x[j] }
                let d = vmax / -8
                let id: Float = d != 0 ? 1 / d : 0
                storeHalf(d, 0, block)
                func code(_ v: Float) -> UInt8 { UInt8(Self.clamped((v * id + 8.5).rounded(.down), 0, 15)) }
                for j in 0 ..< 16 {
                    block.storeBytes(of: code(x[j]) | code(x[j + 16]) << 4, toByteOffset: 2 + j, as: UInt8.self)
                }
            }
        case .q4_1:
            for b in 0 ..< blocks {
                let x = source + 32 * b, block = destination + 20 * b
                var lo = Float.greatestFiniteMagnitude, hi = -Float.greatestFiniteMagnitude
                for j in 0 ..< 32 { lo = min(lo, x[j]); hi = max(hi, x[j]) }
                let d = (hi - lo) / 15
                let id: Float = d != 0 ? 1 / d : 0
                storeHalf(d, 0, block)
                storeHalf(lo, 2, block)
                func code(_ v: Float) -> UInt8 { UInt8(Self.clamped(((v - lo) * id + 0.5).rounded(.down), 0, 15)) }
                for j in 0 ..< 16 {
                    block.storeBytes(of: code(x[j]) | code(x[j + 16]) << 4, toByteOffset: 4 + j, as: UInt8.self)
                }
            }
        case .q5_0, .q5_1, .iq4_nl:
            quantizeFallback(source, blocks: blocks, into: destination)
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K:
            quantizeKQuant(source, blocks: blocks, into: destination)
        }
    }

    /// `value` limited to `[low, high]`; NaN (from NaN or infinite input) becomes `low`, so that
    /// quantizing bad data yields bad codes rather than a trap in the integer conversion.
    static func clamped(_ value: Float, _ low: Float, _ high: Float) -> Float {
        value.isNaN ? low : min(high, max(low, value))
    }

    @inline(__always)
    static func half(_ base: UnsafeRawPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))))
    }

    /// fp32 → bf16 bits, rounding to nearest even; NaN stays a (quiet) NaN.
    public static func bfloat16Bits(_ value: Float) -> UInt16 {
        if value.isNaN { return 0x7FC0 }
        let bits = value.bitPattern
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }
}
