// K-quant weights in packed panels: ggml's super-blocks (KQuantBlocks.swift) re-laid per panel
// of 32 output rows, so that the product kernels stream one contiguous run of bytes per panel
// and decode it in registers, as for Q4_1 (QuantizedPanels.swift). Panel q holds one tile per
// super-block b (256 inputs), in order; in a tile, c < 32 is the output row within the panel,
// p < 256 the input within the super-block and g = p / groupSize its group:
//
//     d[32], −dmin[32] (fp32)                  the super-block scales of the 32 rows (dmin: Q2_K, Q4_K, Q5_K)
//     scale bytes [groups][32]                 Q2_K: ggml's byte, scale | min << 4; Q3_K, Q6_K:
//                                              the signed scale; Q4_K, Q5_K: scale, then min [8][32]
//     low code plane  [256 / per byte][32]     the low 2 (Q2_K, Q3_K) or 4 bits of q + bias, for
//                                              row c at byte (p / perByte)·32 + c, bits (p % perByte)·width
//     high code plane [256 / per byte][32]     the high 1 (Q3_K, Q5_K) or 2 (Q6_K) bits, laid alike
//
// with bias 4 (Q3_K), 32 (Q6_K) or 0. W[32q + c, 256b + p] is `q · dl + ml` as one fused
// multiply-add, dl = d[c] · scale, ml = (−dmin[c]) · min (−0 without mins, which keeps the sign of
// a zero product): the same bits as BlockFormat.dequantize, whose `dl · q − dmin · min` rounds only
// in the subtraction (the product is exact). dmin is stored negated because `(−dmin) · min` is
// exactly `−(dmin · min)`, signed zeros included, while SIMD's prefix minus is `0 − x`, which
// turns +0 into +0. Tiles take 2.75 (Q2_K), 3.625, 4.75, 5.75 and 6.625
// (Q6_K) bits per weight, a little above the files' 2.625 … 6.5625; every tile size is a multiple
// of 64 bytes, so every d vector stays 64-byte aligned.

/// One K-quant's tile layout (see the top of this file). Conformers are caseless enums; the
/// kernels are generic over them so that each format gets its own specialised copy.
protocol KQuantTile {
    static var tileBytes: Int { get }
    static var groupSize: Int { get }
    /// Byte offset and bit width of the low code plane.
    static var low: (offset: Int, bits: Int) { get }
    /// Byte offset and bit width of the high code plane; width 0 when there is none.
    static var high: (offset: Int, bits: Int) { get }
    /// What the stored code exceeds q by.
    static var codeBias: Int32 { get }
    /// `dl` and `ml` of group g for the 32 rows (rows 0–15, then 16–31).
    static func groupScales(_ tile: UnsafeRawPointer, group g: Int) -> KQuantGroupScales
    /// `dl` and `ml` of group g for row c.
    static func groupScale(_ tile: UnsafeRawPointer, column c: Int, group g: Int) -> (scale: Float, offset: Float)
    /// Writes d, dmin and the scale bytes of `parts` as row c.
    static func storeScales(_ parts: KQuantParts, into tile: UnsafeMutableRawPointer, column c: Int)
}

/// The scales and offsets of one group for the 32 rows of a tile.
struct KQuantGroupScales {
    var scale0: SIMD16<Float>, scale1: SIMD16<Float>
    var offset0: SIMD16<Float>, offset1: SIMD16<Float>
}

enum Q2KTile: KQuantTile {
    static var tileBytes: Int { 2816 }
    static var groupSize: Int { 16 }
    static var low: (offset: Int, bits: Int) { (768, 2) }
    static var high: (offset: Int, bits: Int) { (2816, 0) }
    static var codeBias: Int32 { 0 }

    @inline(__always)
    static func groupScales(_ tile: UnsafeRawPointer, group g: Int) -> KQuantGroupScales {
        let d = tile.assumingMemoryBound(to: Float.self)
        let (sc0, sc1, m0, m1) = nibbleFloats((tile + 256 + 32 * g).assumingMemoryBound(to: UInt8.self))
        return KQuantGroupScales(
            scale0: loadAligned16(d) * sc0, scale1: loadAligned16(d + 16) * sc1,
            offset0: loadAligned16(d + 32) * m0, offset1: loadAligned16(d + 48) * m1)
    }

    static func groupScale(_ tile: UnsafeRawPointer, column c: Int, group g: Int) -> (scale: Float, offset: Float) {
        let d = tile.assumingMemoryBound(to: Float.self)
        let packed = tile.load(fromByteOffset: 256 + 32 * g + c, as: UInt8.self)
        return (d[c] * Float(packed & 15), d[32 + c] * Float(packed >> 4))
    }

    static func storeScales(_ parts: KQuantParts, into tile: UnsafeMutableRawPointer, column c: Int) {
        storeSuperBlockScales(parts, into: tile, column: c, mins: true)
        for g in 0..<16 {
            let packed = UInt8(bitPattern: parts.scales[g]) | UInt8(bitPattern: parts.mins[g]) << 4
            tile.storeBytes(of: packed, toByteOffset: 256 + 32 * g + c, as: UInt8.self)
        }
    }
}

/// Q3_K and Q6_K: a signed 8-bit scale per group of 16 under the super-block scale, no mins.
protocol KQuantTileWithSignedScales: KQuantTile {}

extension KQuantTileWithSignedScales {
    @inline(__always)
    static func groupScales(_ tile: UnsafeRawPointer, group g: Int) -> KQuantGroupScales {
        signedScales(tile, scales: 128 + 32 * g)
    }

    static func groupScale(_ tile: UnsafeRawPointer, column c: Int, group g: Int) -> (scale: Float, offset: Float) {
        signedScale(tile, scales: 128 + 32 * g, column: c)
    }

    static func storeScales(_ parts: KQuantParts, into tile: UnsafeMutableRawPointer, column c: Int) {
        storeSuperBlockScales(parts, into: tile, column: c, mins: false)
        for g in 0..<16 { tile.storeBytes(of: parts.scales[g], toByteOffset: 128 + 32 * g + c, as: Int8.self) }
    }
}

enum Q3KTile: KQuantTileWithSignedScales {
    static var tileBytes: Int { 3712 }
    static var groupSize: Int { 16 }
    static var low: (offset: Int, bits: Int) { (640, 2) }
    static var high: (offset: Int, bits: Int) { (2688, 1) }
    static var codeBias: Int32 { 4 }

}

/// Q4_K and Q5_K: 6-bit scales and mins per group of 32, packed as in the file's 12-byte table.
protocol KQuantTileWithMins: KQuantTile {}

extension KQuantTileWithMins {
    @inline(__always)
    static func groupScales(_ tile: UnsafeRawPointer, group g: Int) -> KQuantGroupScales { scalesAndMins(tile, group: g) }

    static func groupScale(_ tile: UnsafeRawPointer, column c: Int, group g: Int) -> (scale: Float, offset: Float) {
        scaleAndMin(tile, column: c, group: g)
    }

    static func storeScales(_ parts: KQuantParts, into tile: UnsafeMutableRawPointer, column c: Int) {
        storeScalesAndMins(parts, into: tile, column: c)
    }
}

enum Q4KTile: KQuantTileWithMins {
    static var tileBytes: Int { 4864 }
    static var groupSize: Int { 32 }
    static var low: (offset: Int, bits: Int) { (768, 4) }
    static var high: (offset: Int, bits: Int) { (4864, 0) }
    static var codeBias: Int32 { 0 }
}

enum Q5KTile: KQuantTileWithMins {
    static var tileBytes: Int { 5888 }
    static var groupSize: Int { 32 }
    static var low: (offset: Int, bits: Int) { (768, 4) }
    static var high: (offset: Int, bits: Int) { (4864, 1) }
    static var codeBias: Int32 { 0 }
}

enum Q6KTile: KQuantTileWithSignedScales {
    static var tileBytes: Int { 6784 }
    static var groupSize: Int { 16 }
    static var low: (offset: Int, bits: Int) { (640, 4) }
    static var high: (offset: Int, bits: Int) { (4736, 2) }
    static var codeBias: Int32 { 32 }

}

extension KQuantTile {
    /// The codes q (bias removed) of input p for the 32 rows, as floats. A plain loop over a
    /// stack buffer, which LLVM vectorises (the standard library's SIMD conversions are calls).
    @inline(__always)
    static func codes(_ tile: UnsafeRawPointer, input p: Int) -> (SIMD16<Float>, SIMD16<Float>) {
        let lowPerByte = 8 / low.bits
        let lowRow = (tile + low.offset + (p / lowPerByte) * 32).assumingMemoryBound(to: UInt8.self)
        let lowShift = Int32((p % lowPerByte) * low.bits), lowMask = Int32(1) &<< Int32(low.bits) &- 1
        let highPerByte = high.bits > 0 ? 8 / high.bits : 1
        let highRow = (tile + high.offset + (p / highPerByte) * 32).assumingMemoryBound(to: UInt8.self)
        let highShift = Int32((p % highPerByte) * high.bits), highMask = Int32(1) &<< Int32(high.bits) &- 1
        return withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { converted in
            for c in 0..<32 {
                var code = (Int32(lowRow[c]) &>> lowShift) & lowMask
                if high.bits > 0 { code |= ((Int32(highRow[c]) &>> highShift) & highMask) &<< Int32(low.bits) }
                converted[c] = Float(code &- codeBias)
            }
            let base = converted.baseAddress!
            return (loadUnaligned16(base), loadUnaligned16(base + 16))
        }
    }

    /// The code q of row c at input p.
    static func code(_ tile: UnsafeRawPointer, column c: Int, input p: Int) -> Float {
        let lowPerByte = 8 / low.bits
        let lowByte = Int32(tile.load(fromByteOffset: low.offset + (p / lowPerByte) * 32 + c, as: UInt8.self))
        var code = (lowByte >> Int32((p % lowPerByte) * low.bits)) & ((1 << Int32(low.bits)) - 1)
        if high.bits > 0 {
            let highPerByte = 8 / high.bits
            let highByte = Int32(tile.load(fromByteOffset: high.offset + (p / highPerByte) * 32 + c, as: UInt8.self))
            code |= ((highByte >> Int32((p % highPerByte) * high.bits)) & ((1 << Int32(high.bits)) - 1)) << Int32(low.bits)
        }
        return Float(code - codeBias)
    }

    /// Writes one super-block (`parts`) as row c of `tile`, whose code planes start zeroed.
    static func store(_ parts: KQuantParts, into tile: UnsafeMutableRawPointer, column c: Int) {
        storeScales(parts, into: tile, column: c)
        let lowPerByte = 8 / low.bits
        let highPerByte = high.bits > 0 ? 8 / high.bits : 1
        for p in 0..<256 {
            let code = UInt8(truncatingIfNeeded: Int32(parts.codes[p]) + codeBias)
            let lowByte = tile.assumingMemoryBound(to: UInt8.self) + low.offset + (p / lowPerByte) * 32 + c
            lowByte.pointee |= (code & UInt8((1 << low.bits) - 1)) << UInt8((p % lowPerByte) * low.bits)
            if high.bits > 0 {
                let highByte = tile.assumingMemoryBound(to: UInt8.self) + high.offset + (p / highPerByte) * 32 + c
                highByte.pointee |= (code >> UInt8(low.bits)) << UInt8((p % highPerByte) * high.bits)
            }
        }
    }

    /// Decodes a whole tile to fp32 panel rows, `out[p·32 + c]` for p < 256: the layout of an
    /// fp32 panel, so the fp32 register tiles run on it unchanged.
    @inline(__always)
    static func dequantize(_ tile: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>) {
        for g in 0..<(256 / groupSize) {
            let s = groupScales(tile, group: g)
            for p in g * groupSize ..< (g + 1) * groupSize {
                let (q0, q1) = codes(tile, input: p)
                store16(s.offset0.addingProduct(q0, s.scale0), out + p * 32)
                store16(s.offset1.addingProduct(q1, s.scale1), out + p * 32 + 16)
            }
        }
    }

    /// Decodes row c of a tile, 256 floats.
    static func copyRow(_ c: Int, of tile: UnsafeRawPointer, into out: UnsafeMutablePointer<Float>) {
        for g in 0..<(256 / groupSize) {
            let (scale, offset) = groupScale(tile, column: c, group: g)
            for p in g * groupSize ..< (g + 1) * groupSize {
                out[p] = offset.addingProduct(code(tile, column: c, input: p), scale)
            }
        }
    }

    // Shared pieces of the layouts.

    static func storeSuperBlockScales(_ parts: KQuantParts, into tile: UnsafeMutableRawPointer, column c: Int, mins: Bool) {
        let d = tile.assumingMemoryBound(to: Float.self)
        d[c] = Float(parts.d)
        if mins { d[32 + c] = -Float(parts.dmin) }
    }

    @inline(__always)
    static func signedScales(_ tile: UnsafeRawPointer, scales offset: Int) -> KQuantGroupScales {
        let d = tile.assumingMemoryBound(to: Float.self)
        let (sc0, sc1) = bytes((tile + offset).assumingMemoryBound(to: Int8.self))
        let negativeZero = SIMD16<Float>(repeating: -0.0)
        return KQuantGroupScales(
            scale0: loadAligned16(d) * sc0, scale1: loadAligned16(d + 16) * sc1, offset0: negativeZero, offset1: negativeZero)
    }

    static func signedScale(_ tile: UnsafeRawPointer, scales offset: Int, column c: Int) -> (scale: Float, offset: Float) {
        let d = tile.assumingMemoryBound(to: Float.self)
        return (d[c] * Float(tile.load(fromByteOffset: offset + c, as: Int8.self)), -0.0)
    }

    @inline(__always)
    static func scalesAndMins(_ tile: UnsafeRawPointer, group g: Int) -> KQuantGroupScales {
        let d = tile.assumingMemoryBound(to: Float.self)
        let (sc0, sc1) = bytes((tile + 256 + 32 * g).assumingMemoryBound(to: Int8.self))
        let (m0, m1) = bytes((tile + 512 + 32 * g).assumingMemoryBound(to: Int8.self))
        return KQuantGroupScales(
            scale0: loadAligned16(d) * sc0, scale1: loadAligned16(d + 16) * sc1,
            offset0: loadAligned16(d + 32) * m0, offset1: loadAligned16(d + 48) * m1)
    }

    static func scaleAndMin(_ tile: UnsafeRawPointer, column c: Int, group g: Int) -> (scale: Float, offset: Float) {
        let d = tile.assumingMemoryBound(to: Float.self)
        let scale = tile.load(fromByteOffset: 256 + 32 * g + c, as: Int8.self)
        let min = tile.load(fromByteOffset: 512 + 32 * g + c, as: Int8.self)
        return (d[c] * Float(scale), d[32 + c] * Float(min))
    }

    static func storeScalesAndMins(_ parts: KQuantParts, into tile: UnsafeMutableRawPointer, column c: Int) {
        storeSuperBlockScales(parts, into: tile, column: c, mins: true)
        for g in 0..<8 {
            tile.storeBytes(of: parts.scales[g], toByteOffset: 256 + 32 * g + c, as: Int8.self)
            tile.storeBytes(of: parts.mins[g], toByteOffset: 512 + 32 * g + c, as: Int8.self)
        }
    }
}

/// 32 bytes → their low nibbles and high nibbles as floats (rows 0–15, 16–31 of each).
@inline(__always)
func nibbleFloats(_ bytes: UnsafePointer<UInt8>) -> (SIMD16<Float>, SIMD16<Float>, SIMD16<Float>, SIMD16<Float>) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 64) { converted in
        for c in 0..<32 {
            converted[c] = Float(bytes[c] & 15)
            converted[32 + c] = Float(bytes[c] >> 4)
        }
        let base = converted.baseAddress!
        return (loadUnaligned16(base), loadUnaligned16(base + 16), loadUnaligned16(base + 32), loadUnaligned16(base + 48))
    }
}

/// Per-format entry points with the tile layout fixed, so that every loop below runs a copy
/// specialised for its format (an existential `any KQuantTile.Type` would call every accessor
/// through a witness table).
enum KQuantTiles {
    static func tileBytes(_ format: BlockFormat) -> Int {
        switch format {
        case .q2_K: Q2KTile.tileBytes
        case .q3_K: Q3KTile.tileBytes
        case .q4_K: Q4KTile.tileBytes
        case .q5_K: Q5KTile.tileBytes
        default: Q6KTile.tileBytes
        }
    }

    /// Packs row `row` (its `superBlocks` ggml blocks at `source`) as column `row % 32` of its
    /// panel's tiles, which start at `tiles` and lie `tileBytes` apart.
    static func packRow(_ format: BlockFormat, _ source: UnsafeRawPointer, superBlocks: Int, column c: Int,
                        tiles: UnsafeMutableRawPointer, parts: inout KQuantParts) {
        switch format {
        case .q2_K: packRow(Q2KTile.self, format, source, superBlocks, c, tiles, &parts)
        case .q3_K: packRow(Q3KTile.self, format, source, superBlocks, c, tiles, &parts)
        case .q4_K: packRow(Q4KTile.self, format, source, superBlocks, c, tiles, &parts)
        case .q5_K: packRow(Q5KTile.self, format, source, superBlocks, c, tiles, &parts)
        default: packRow(Q6KTile.self, format, source, superBlocks, c, tiles, &parts)
        }
    }

    private static func packRow<T: KQuantTile>(
        _: T.Type, _ format: BlockFormat, _ source: UnsafeRawPointer, _ superBlocks: Int, _ c: Int,
        _ tiles: UnsafeMutableRawPointer, _ parts: inout KQuantParts
    ) {
        for b in 0..<superBlocks {
            format.unpackSuperBlock(source + b * format.bytesPerBlock, into: &parts)
            T.store(parts, into: tiles + b * T.tileBytes, column: c)
        }
    }

    /// Decodes `count` consecutive tiles at `tile` into `[count · 256, 32]` fp32 panel rows.
    static func dequantize(_ format: BlockFormat, _ tile: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        switch format {
        case .q2_K: dequantize(Q2KTile.self, tile, count, out)
        case .q3_K: dequantize(Q3KTile.self, tile, count, out)
        case .q4_K: dequantize(Q4KTile.self, tile, count, out)
        case .q5_K: dequantize(Q5KTile.self, tile, count, out)
        default: dequantize(Q6KTile.self, tile, count, out)
        }
    }

    @inline(never)
    private static func dequantize<T: KQuantTile>(_: T.Type, _ tile: UnsafeRawPointer, _ count: Int, _ out: UnsafeMutablePointer<Float>) {
        for t in 0..<count { T.dequantize(tile + t * T.tileBytes, into: out + t * 8192) }
    }

    /// Decodes row c of `count` consecutive tiles at `tile` into `count · 256` floats.
    static func copyRow(_ format: BlockFormat, _ c: Int, tiles tile: UnsafeRawPointer, count: Int, into out: UnsafeMutablePointer<Float>) {
        switch format {
        case .q2_K: copyRow(Q2KTile.self, c, tile, count, out)
        case .q3_K: copyRow(Q3KTile.self, c, tile, count, out)
        case .q4_K: copyRow(Q4KTile.self, c, tile, count, out)
        case .q5_K: copyRow(Q5KTile.self, c, tile, count, out)
        default: copyRow(Q6KTile.self, c, tile, count, out)
        }
    }

    private static func copyRow<T: KQuantTile>(_: T.Type, _ c: Int, _ tile: UnsafeRawPointer, _ count: Int, _ out: UnsafeMutablePointer<Float>) {
        for t in 0..<count { T.copyRow(c, of: tile + t * T.tileBytes, into: out + t * 256) }
    }
}
