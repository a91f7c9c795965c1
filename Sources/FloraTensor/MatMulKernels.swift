// The register-tile kernels behind MatMul (DESIGN.md section 9): broadcast one input value,
// FMA it into SIMD16<Float> accumulators against one k-step of a packed panel (PackedMatrix.swift).
// The kernels are written out in full because Swift has no unrolling macros.
//
// Every kernel computes, for r < mr and c < 32·np (np = 1 for the 8-row kernel),
//
//     t[r·128 + c] = Σ_{p<k} a[r·lda + p] · panel(c / 32)[p·32 + c % 32]
//
// where panel(i) starts at b + i·panelStride. The tile t is [8, 128] floats. Each kernel keeps at
// most 16 accumulators (of 32 zmm registers) so that two FMA units with 4-cycle latency stay busy.
// Kernels are inlined with literal mr/np at their call sites so that the guards fold away.

/// 8 rows × 1 panel: the main tile for 5 or more rows.
@inline(__always)
func kernel8x32(rows mr: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ panelStride: Int, _ k: Int, into t: UnsafeMutablePointer<Float>) {
    var c00 = SIMD16<Float>(); var c01 = SIMD16<Float>()
    var c10 = SIMD16<Float>(); var c11 = SIMD16<Float>()
    var c20 = SIMD16<Float>(); var c21 = SIMD16<Float>()
    var c30 = SIMD16<Float>(); var c31 = SIMD16<Float>()
    var c40 = SIMD16<Float>(); var c41 = SIMD16<Float>()
    var c50 = SIMD16<Float>(); var c51 = SIMD16<Float>()
    var c60 = SIMD16<Float>(); var c61 = SIMD16<Float>()
    var c70 = SIMD16<Float>(); var c71 = SIMD16<Float>()
    let a0 = a + 0 * lda
    let a1 = a + 1 * lda
    let a2 = a + 2 * lda
    let a3 = a + 3 * lda
    let a4 = a + 4 * lda
    let a5 = a + 5 * lda
    let a6 = a + 6 * lda
    let a7 = a + 7 * lda
    var b0 = b + 0 * panelStride
    for p in 0..<k {
        let w0 = loadAligned16(b0), w1 = loadAligned16(b0 + 16)
        b0 += 32
        let x0 = a0[p]
        c00 = c00.addingProduct(x0, w0)
        c01 = c01.addingProduct(x0, w1)
        if mr > 1 {
            let x1 = a1[p]
            c10 = c10.addingProduct(x1, w0)
            c11 = c11.addingProduct(x1, w1)
        }
        if mr > 2 {
            let x2 = a2[p]
            c20 = c20.addingProduct(x2, w0)
            c21 = c21.addingProduct(x2, w1)
        }
        if mr > 3 {
            let x3 = a3[p]
            c30 = c30.addingProduct(x3, w0)
            c31 = c31.addingProduct(x3, w1)
        }
        if mr > 4 {
            let x4 = a4[p]
            c40 = c40.addingProduct(x4, w0)
            c41 = c41.addingProduct(x4, w1)
        }
        if mr > 5 {
            let x5 = a5[p]
            c50 = c50.addingProduct(x5, w0)
            c51 = c51.addingProduct(x5, w1)
        }
        if mr > 6 {
            let x6 = a6[p]
            c60 = c60.addingProduct(x6, w0)
            c61 = c61.addingProduct(x6, w1)
        }
        if mr > 7 {
            let x7 = a7[p]
            c70 = c70.addingProduct(x7, w0)
            c71 = c71.addingProduct(x7, w1)
        }
    }
    store16(c00, t + 0)
    store16(c01, t + 16)
    if mr > 1 { store16(c10, t + 128) }
    if mr > 1 { store16(c11, t + 144) }
    if mr > 2 { store16(c20, t + 256) }
    if mr > 2 { store16(c21, t + 272) }
    if mr > 3 { store16(c30, t + 384) }
    if mr > 3 { store16(c31, t + 400) }
    if mr > 4 { store16(c40, t + 512) }
    if mr > 4 { store16(c41, t + 528) }
    if mr > 5 { store16(c50, t + 640) }
    if mr > 5 { store16(c51, t + 656) }
    if mr > 6 { store16(c60, t + 768) }
    if mr > 6 { store16(c61, t + 784) }
    if mr > 7 { store16(c70, t + 896) }
    if mr > 7 { store16(c71, t + 912) }
}

/// 4 rows × 2 panels: few-row products (3–4 rows, or the remainder of a larger product).
@inline(__always)
func kernel4x64(rows mr: Int, panels np: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ panelStride: Int, _ k: Int, into t: UnsafeMutablePointer<Float>) {
    var c00 = SIMD16<Float>(); var c01 = SIMD16<Float>(); var c02 = SIMD16<Float>(); var c03 = SIMD16<Float>()
    var c10 = SIMD16<Float>(); var c11 = SIMD16<Float>(); var c12 = SIMD16<Float>(); var c13 = SIMD16<Float>()
    var c20 = SIMD16<Float>(); var c21 = SIMD16<Float>(); var c22 = SIMD16<Float>(); var c23 = SIMD16<Float>()
    var c30 = SIMD16<Float>(); var c31 = SIMD16<Float>(); var c32 = SIMD16<Float>(); var c33 = SIMD16<Float>()
    let a0 = a + 0 * lda
    let a1 = a + 1 * lda
    let a2 = a + 2 * lda
    let a3 = a + 3 * lda
    var b0 = b + 0 * panelStride
    var b1 = b + 1 * panelStride
    for p in 0..<k {
        let w0 = loadAligned16(b0), w1 = loadAligned16(b0 + 16)
        b0 += 32
        let w2 = np > 1 ? loadAligned16(b1) : SIMD16<Float>(), w3 = np > 1 ? loadAligned16(b1 + 16) : SIMD16<Float>()
        b1 += 32
        let x0 = a0[p]
        c00 = c00.addingProduct(x0, w0)
        c01 = c01.addingProduct(x0, w1)
        if np > 1 { c02 = c02.addingProduct(x0, w2) }
        if np > 1 { c03 = c03.addingProduct(x0, w3) }
        if mr > 1 {
            let x1 = a1[p]
            c10 = c10.addingProduct(x1, w0)
            c11 = c11.addingProduct(x1, w1)
            if np > 1 { c12 = c12.addingProduct(x1, w2) }
            if np > 1 { c13 = c13.addingProduct(x1, w3) }
        }
        if mr > 2 {
            let x2 = a2[p]
            c20 = c20.addingProduct(x2, w0)
            c21 = c21.addingProduct(x2, w1)
            if np > 1 { c22 = c22.addingProduct(x2, w2) }
            if np > 1 { c23 = c23.addingProduct(x2, w3) }
        }
        if mr > 3 {
            let x3 = a3[p]
            c30 = c30.addingProduct(x3, w0)
            c31 = c31.addingProduct(x3, w1)
            if np > 1 { c32 = c32.addingProduct(x3, w2) }
            if np > 1 { c33 = c33.addingProduct(x3, w3) }
        }
    }
    store16(c00, t + 0)
    store16(c01, t + 16)
    if np > 1 { store16(c02, t + 32) }
    if np > 1 { store16(c03, t + 48) }
    if mr > 1 { store16(c10, t + 128) }
    if mr > 1 { store16(c11, t + 144) }
    if mr > 1 && np > 1 { store16(c12, t + 160) }
    if mr > 1 && np > 1 { store16(c13, t + 176) }
    if mr > 2 { store16(c20, t + 256) }
    if mr > 2 { store16(c21, t + 272) }
    if mr > 2 && np > 1 { store16(c22, t + 288) }
    if mr > 2 && np > 1 { store16(c23, t + 304) }
    if mr > 3 { store16(c30, t + 384) }
    if mr > 3 { store16(c31, t + 400) }
    if mr > 3 && np > 1 { store16(c32, t + 416) }
    if mr > 3 && np > 1 { store16(c33, t + 432) }
}

/// 2 rows × 4 panels: one- and two-row products (GEMV), where streaming W is the bound.
@inline(__always)
func kernel2x128(rows mr: Int, panels np: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ panelStride: Int, _ k: Int, into t: UnsafeMutablePointer<Float>) {
    var c00 = SIMD16<Float>(); var c01 = SIMD16<Float>(); var c02 = SIMD16<Float>(); var c03 = SIMD16<Float>(); var c04 = SIMD16<Float>(); var c05 = SIMD16<Float>(); var c06 = SIMD16<Float>(); var c07 = SIMD16<Float>()
    var c10 = SIMD16<Float>(); var c11 = SIMD16<Float>(); var c12 = SIMD16<Float>(); var c13 = SIMD16<Float>(); var c14 = SIMD16<Float>(); var c15 = SIMD16<Float>(); var c16 = SIMD16<Float>(); var c17 = SIMD16<Float>()
    let a0 = a + 0 * lda
    let a1 = a + 1 * lda
    var b0 = b + 0 * panelStride
    var b1 = b + 1 * panelStride
    var b2 = b + 2 * panelStride
    var b3 = b + 3 * panelStride
    for p in 0..<k {
        let w0 = loadAligned16(b0), w1 = loadAligned16(b0 + 16)
        b0 += 32
        let w2 = np > 1 ? loadAligned16(b1) : SIMD16<Float>(), w3 = np > 1 ? loadAligned16(b1 + 16) : SIMD16<Float>()
        b1 += 32
        let w4 = np > 2 ? loadAligned16(b2) : SIMD16<Float>(), w5 = np > 2 ? loadAligned16(b2 + 16) : SIMD16<Float>()
        b2 += 32
        let w6 = np > 3 ? loadAligned16(b3) : SIMD16<Float>(), w7 = np > 3 ? loadAligned16(b3 + 16) : SIMD16<Float>()
        b3 += 32
        let x0 = a0[p]
        c00 = c00.addingProduct(x0, w0)
        c01 = c01.addingProduct(x0, w1)
        if np > 1 { c02 = c02.addingProduct(x0, w2) }
        if np > 1 { c03 = c03.addingProduct(x0, w3) }
        if np > 2 { c04 = c04.addingProduct(x0, w4) }
        if np > 2 { c05 = c05.addingProduct(x0, w5) }
        if np > 3 { c06 = c06.addingProduct(x0, w6) }
        if np > 3 { c07 = c07.addingProduct(x0, w7) }
        if mr > 1 {
            let x1 = a1[p]
            c10 = c10.addingProduct(x1, w0)
            c11 = c11.addingProduct(x1, w1)
            if np > 1 { c12 = c12.addingProduct(x1, w2) }
            if np > 1 { c13 = c13.addingProduct(x1, w3) }
            if np > 2 { c14 = c14.addingProduct(x1, w4) }
            if np > 2 { c15 = c15.addingProduct(x1, w5) }
            if np > 3 { c16 = c16.addingProduct(x1, w6) }
            if np > 3 { c17 = c17.addingProduct(x1, w7) }
        }
    }
    store16(c00, t + 0)
    store16(c01, t + 16)
    if np > 1 { store16(c02, t + 32) }
    if np > 1 { store16(c03, t + 48) }
    if np > 2 { store16(c04, t + 64) }
    if np > 2 { store16(c05, t + 80) }
    if np > 3 { store16(c06, t + 96) }
    if np > 3 { store16(c07, t + 112) }
    if mr > 1 { store16(c10, t + 128) }
    if mr > 1 { store16(c11, t + 144) }
    if mr > 1 && np > 1 { store16(c12, t + 160) }
    if mr > 1 && np > 1 { store16(c13, t + 176) }
    if mr > 1 && np > 2 { store16(c14, t + 192) }
    if mr > 1 && np > 2 { store16(c15, t + 208) }
    if mr > 1 && np > 3 { store16(c16, t + 224) }
    if mr > 1 && np > 3 { store16(c17, t + 240) }
}
