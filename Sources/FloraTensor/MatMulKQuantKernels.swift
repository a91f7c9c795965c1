// Register kernels for one or two rows against K-quant panels (KQuantPanels.swift), the decode
// path of the K-quants as MatMulQuantizedKernels.swift is Q4_1's: per group of 16 or 32 inputs
// the 32 rows' scales `dl` and offsets `ml` are formed once in registers; per input the codes are
// widened, `q · dl + ml` is one fused multiply-add, and the weights go straight into the FMAs,
// with no fp32 copy of W. Both compute, for r < mr and c < 32·np:
//
//     t[r·128 + c] = Σ_{b < superBlocks, p < 256} a[r·lda + 256b + p] · W(panel q + c / 32)[256b + p, c % 32]
//
// summed over b, then p, in order, in one FMA chain per output (the order of the fp32 kernels),
// with W decoded exactly as KQuantTile.dequantize decodes it for the 8-row tiles: a row's
// result does not depend on which path or which other rows shared the call.

/// `mr` ≤ 2 rows × `np` ≤ 2 panels of K-quant `T`; `tiles` is the first panel's first tile.
@inline(__always)
func kernelKQuantx64<T: KQuantTile>(
    _: T.Type, rows mr: Int, panels np: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ tiles: UnsafeRawPointer,
    _ panelBytes: Int, superBlocks: Int, into t: UnsafeMutablePointer<Float>
) {
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>(), c02 = SIMD16<Float>(), c03 = SIMD16<Float>()
    var c10 = SIMD16<Float>(), c11 = SIMD16<Float>(), c12 = SIMD16<Float>(), c13 = SIMD16<Float>()
    var tile0 = tiles
    var tile1 = tiles + panelBytes
    var a0 = a
    var a1 = a + lda
    let none = KQuantGroupScales(scale0: .zero, scale1: .zero, offset0: .zero, offset1: .zero)
    for _ in 0..<superBlocks {
        for g in 0..<(256 / T.groupSize) {
            let s = T.groupScales(tile0, group: g)
            let u = np > 1 ? T.groupScales(tile1, group: g) : none
            for p in g * T.groupSize ..< (g + 1) * T.groupSize {
                let (q0, q1) = T.codes(tile0, input: p)
                let w0 = s.offset0.addingProduct(q0, s.scale0), w1 = s.offset1.addingProduct(q1, s.scale1)
                let x0 = a0[p]
                c00 = c00.addingProduct(x0, w0)
                c01 = c01.addingProduct(x0, w1)
                let x1 = mr > 1 ? a1[p] : 0
                if mr > 1 {
                    c10 = c10.addingProduct(x1, w0)
                    c11 = c11.addingProduct(x1, w1)
                }
                if np > 1 {
                    let (q2, q3) = T.codes(tile1, input: p)
                    let w2 = u.offset0.addingProduct(q2, u.scale0), w3 = u.offset1.addingProduct(q3, u.scale1)
                    c02 = c02.addingProduct(x0, w2)
                    c03 = c03.addingProduct(x0, w3)
                    if mr > 1 {
                        c12 = c12.addingProduct(x1, w2)
                        c13 = c13.addingProduct(x1, w3)
                    }
                }
            }
        }
        tile0 += T.tileBytes
        tile1 += T.tileBytes
        a0 += 256
        a1 += 256
    }
    store16(c00, t); store16(c01, t + 16)
    if np > 1 { store16(c02, t + 32); store16(c03, t + 48) }
    if mr > 1 { store16(c10, t + 128); store16(c11, t + 144) }
    if mr > 1 && np > 1 { store16(c12, t + 160); store16(c13, t + 176) }
}

/// Dispatch on the format, then on literal sizes, so that each copy's guards fold away.
func kQuantTile2(
    rows mr: Int, panels np: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ format: BlockFormat, _ tiles: UnsafeRawPointer,
    _ panelBytes: Int, superBlocks: Int, into t: UnsafeMutablePointer<Float>
) {
    switch format {
    case .q2_K: kQuantTile2(Q2KTile.self, mr, np, a, lda, tiles, panelBytes, superBlocks, t)
    case .q3_K: kQuantTile2(Q3KTile.self, mr, np, a, lda, tiles, panelBytes, superBlocks, t)
    case .q4_K: kQuantTile2(Q4KTile.self, mr, np, a, lda, tiles, panelBytes, superBlocks, t)
    case .q5_K: kQuantTile2(Q5KTile.self, mr, np, a, lda, tiles, panelBytes, superBlocks, t)
    default: kQuantTile2(Q6KTile.self, mr, np, a, lda, tiles, panelBytes, superBlocks, t)
    }
}

private func kQuantTile2<T: KQuantTile>(
    _ type: T.Type, _ mr: Int, _ np: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ tiles: UnsafeRawPointer,
    _ pb: Int, _ sb: Int, _ t: UnsafeMutablePointer<Float>
) {
    switch (mr, np) {
    case (2, 2): kernelKQuantx64(type, rows: 2, panels: 2, a, lda, tiles, pb, superBlocks: sb, into: t)
    case (2, _): kernelKQuantx64(type, rows: 2, panels: 1, a, lda, tiles, pb, superBlocks: sb, into: t)
    case (_, 2): kernelKQuantx64(type, rows: 1, panels: 2, a, lda, tiles, pb, superBlocks: sb, into: t)
    default: kernelKQuantx64(type, rows: 1, panels: 1, a, lda, tiles, pb, superBlocks: sb, into: t)
    }
}
