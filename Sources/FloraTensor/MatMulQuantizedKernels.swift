// Register kernels for one or two rows against quantized panels (QuantizedPanels.swift): the
// codes are widened and scaled in registers and FMA'd straight into the accumulators, with no
// fp32 copy of the weights. Plain loops over a stack buffer that LLVM folds into
// vpmovzxbd/vpmovsxbd + vcvtdq2ps (the standard library's SIMD conversions are calls; DESIGN.md
// section 9).
//
// Both compute, for r < mr and c < 32·np, over all k-blocks b and inputs p < 32:
//
//     t[r·128 + c] = Σ_{b, p} a[r·lda + 32b + p] · W(panel q + c / 32)[32b + p, c % 32]
//
// with W decoded exactly as BlockFormat.dequantize decodes it. Q4_1's `scale · q + min` is one
// fused multiply-add: scale is a widened half (11 significant bits) and q < 16, so scale · q is
// exact in fp32 and the fused and the separate forms round once, to the same value.

/// Q4_1, `mr` ≤ 2 rows × `np` ≤ 2 panels; `tiles` is the first panel's first tile.
@inline(__always)
func kernelQ4_1x64(rows mr: Int, panels np: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ tiles: UnsafeRawPointer, _ panelBytes: Int, kBlocks: Int, into t: UnsafeMutablePointer<Float>) {
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>(), c02 = SIMD16<Float>(), c03 = SIMD16<Float>()
    var c10 = SIMD16<Float>(), c11 = SIMD16<Float>(), c12 = SIMD16<Float>(), c13 = SIMD16<Float>()
    var tile0 = tiles
    var tile1 = tiles + panelBytes
    var a0 = a
    var a1 = a + lda
    for _ in 0..<kBlocks {
        let s0 = tile0.assumingMemoryBound(to: Float.self)
        let d0 = loadAligned16(s0), d1 = loadAligned16(s0 + 16), m0 = loadAligned16(s0 + 32), m1 = loadAligned16(s0 + 48)
        let s1 = tile1.assumingMemoryBound(to: Float.self)
        let d2 = np > 1 ? loadAligned16(s1) : SIMD16<Float>(), d3 = np > 1 ? loadAligned16(s1 + 16) : SIMD16<Float>()
        let m2 = np > 1 ? loadAligned16(s1 + 32) : SIMD16<Float>(), m3 = np > 1 ? loadAligned16(s1 + 48) : SIMD16<Float>()
        let codes0 = (tile0 + 256).assumingMemoryBound(to: UInt8.self)
        let codes1 = (tile1 + 256).assumingMemoryBound(to: UInt8.self)
        for p in 0..<32 {
            let (q0, q1) = nibbles(codes0 + p * 16)
            let w0 = m0.addingProduct(q0, d0), w1 = m1.addingProduct(q1, d1)
            let x0 = a0[p]
            c00 = c00.addingProduct(x0, w0)
            c01 = c01.addingProduct(x0, w1)
            let x1 = mr > 1 ? a1[p] : 0
            if mr > 1 {
                c10 = c10.addingProduct(x1, w0)
                c11 = c11.addingProduct(x1, w1)
            }
            if np > 1 {
                let (q2, q3) = nibbles(codes1 + p * 16)
                let w2 = m2.addingProduct(q2, d2), w3 = m3.addingProduct(q3, d3)
                c02 = c02.addingProduct(x0, w2)
                c03 = c03.addingProduct(x0, w3)
                if mr > 1 {
                    c12 = c12.addingProduct(x1, w2)
                    c13 = c13.addingProduct(x1, w3)
                }
            }
        }
        tile0 += 768
        tile1 += 768
        a0 += 32
        a1 += 32
    }
    store16(c00, t); store16(c01, t + 16)
    if np > 1 { store16(c02, t + 32); store16(c03, t + 48) }
    if mr > 1 { store16(c10, t + 128); store16(c11, t + 144) }
    if mr > 1 && np > 1 { store16(c12, t + 160); store16(c13, t + 176) }
}

/// Q8_0, `mr` ≤ 2 rows × `np` ≤ 2 panels; `tiles` is the first panel's first tile.
@inline(__always)
func kernelQ8_0x64(rows mr: Int, panels np: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ tiles: UnsafeRawPointer, _ panelBytes: Int, kBlocks: Int, into t: UnsafeMutablePointer<Float>) {
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>(), c02 = SIMD16<Float>(), c03 = SIMD16<Float>()
    var c10 = SIMD16<Float>(), c11 = SIMD16<Float>(), c12 = SIMD16<Float>(), c13 = SIMD16<Float>()
    var tile0 = tiles
    var tile1 = tiles + panelBytes
    var a0 = a
    var a1 = a + lda
    for _ in 0..<kBlocks {
        let s0 = tile0.assumingMemoryBound(to: Float.self)
        let d0 = loadAligned16(s0), d1 = loadAligned16(s0 + 16)
        let s1 = tile1.assumingMemoryBound(to: Float.self)
        let d2 = np > 1 ? loadAligned16(s1) : SIMD16<Float>(), d3 = np > 1 ? loadAligned16(s1 + 16) : SIMD16<Float>()
        let codes0 = (tile0 + 128).assumingMemoryBound(to: Int8.self)
        let codes1 = (tile1 + 128).assumingMemoryBound(to: Int8.self)
        for p in 0..<32 {
            let (q0, q1) = bytes(codes0 + p * 32)
            let w0 = d0 * q0, w1 = d1 * q1
            let x0 = a0[p]
            c00 = c00.addingProduct(x0, w0)
            c01 = c01.addingProduct(x0, w1)
            let x1 = mr > 1 ? a1[p] : 0
            if mr > 1 {
                c10 = c10.addingProduct(x1, w0)
                c11 = c11.addingProduct(x1, w1)
            }
            if np > 1 {
                let (q2, q3) = bytes(codes1 + p * 32)
                let w2 = d2 * q2, w3 = d3 * q3
                c02 = c02.addingProduct(x0, w2)
                c03 = c03.addingProduct(x0, w3)
                if mr > 1 {
                    c12 = c12.addingProduct(x1, w2)
                    c13 = c13.addingProduct(x1, w3)
                }
            }
        }
        tile0 += 1152
        tile1 += 1152
        a0 += 32
        a1 += 32
    }
    store16(c00, t); store16(c01, t + 16)
    if np > 1 { store16(c02, t + 32); store16(c03, t + 48) }
    if mr > 1 { store16(c10, t + 128); store16(c11, t + 144) }
    if mr > 1 && np > 1 { store16(c12, t + 160); store16(c13, t + 176) }
}

/// 16 bytes of Q4_1 codes → (low nibbles, high nibbles) as floats.
@inline(__always)
func nibbles(_ codes: UnsafePointer<UInt8>) -> (SIMD16<Float>, SIMD16<Float>) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { converted in
        for j in 0..<16 {
            converted[j] = Float(codes[j] & 0x0F)
            converted[j + 16] = Float(codes[j] >> 4)
        }
        let base = converted.baseAddress!
        return (loadUnaligned16(base), loadUnaligned16(base + 16))
    }
}

/// 32 Q8_0 codes → two vectors of floats.
@inline(__always)
func bytes(_ codes: UnsafePointer<Int8>) -> (SIMD16<Float>, SIMD16<Float>) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 32) { converted in
        for j in 0..<32 { converted[j] = Float(codes[j]) }
        let base = converted.baseAddress!
        return (loadUnaligned16(base), loadUnaligned16(base + 16))
    }
}

/// Dispatch with literal sizes, so that each copy's guards fold away.
func quantizedTile2(rows mr: Int, panels np: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ set: QuantizedPanelSet, panel q: Int, _ t: UnsafeMutablePointer<Float>) {
    let tiles = set.base + q * set.panelBytes
    let kb = set.blockCount
    let pb = set.panelBytes
    if set.format.isKQuant {
        kQuantTile2(rows: mr, panels: np, a, lda, set.format, tiles, pb, superBlocks: kb, into: t)
    } else if set.format == .q4_1 {
        switch (mr, np) {
        case (2, 2): kernelQ4_1x64(rows: 2, panels: 2, a, lda, tiles, pb, kBlocks: kb, into: t)
        case (2, _): kernelQ4_1x64(rows: 2, panels: 1, a, lda, tiles, pb, kBlocks: kb, into: t)
        case (_, 2): kernelQ4_1x64(rows: 1, panels: 2, a, lda, tiles, pb, kBlocks: kb, into: t)
        default: kernelQ4_1x64(rows: 1, panels: 1, a, lda, tiles, pb, kBlocks: kb, into: t)
        }
    } else {
        switch (mr, np) {
        case (2, 2): kernelQ8_0x64(rows: 2, panels: 2, a, lda, tiles, pb, kBlocks: kb, into: t)
        case (2, _): kernelQ8_0x64(rows: 2, panels: 1, a, lda, tiles, pb, kBlocks: kb, into: t)
        case (_, 2): kernelQ8_0x64(rows: 1, panels: 2, a, lda, tiles, pb, kBlocks: kb, into: t)
        default: kernelQ8_0x64(rows: 1, panels: 1, a, lda, tiles, pb, kBlocks: kb, into: t)
        }
    }
}
