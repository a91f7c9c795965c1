// Dot-product tiles for the products whose right-hand side runs along k: dx = dy · W on packed
// panels, and a · bᵀ with a small row-major b (LoRA's shrink). Written out in full, as in
// MatMulKernels.swift; inlined with literal sizes so that the guards fold away.

/// 2 rows × 7 columns of dot products over 16-float steps: for r < mr, j < nc,
///
///     t[r·8 + j] = Σ_{h<steps} Σ_{c<16} a[r·lda + 16h + c] · b[h·bStepStride + j·bColumnStride + c]
///
/// Each accumulator sums 16 lanes across all steps; the lanes are added once at the end. Seven
/// columns, not eight: with 16 accumulators (2×8 or 4×4) LLVM kept one of them on the stack, a
/// store and a load on every step, which halved the speed; 14 stay in registers.
@inline(__always)
func kernelDot2x7(rows mr: Int, columns nc: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ bStepStride: Int, _ bColumnStride: Int, steps: Int, into t: UnsafeMutablePointer<Float>) {
    var c00 = SIMD16<Float>(); var c01 = SIMD16<Float>(); var c02 = SIMD16<Float>(); var c03 = SIMD16<Float>(); var c04 = SIMD16<Float>(); var c05 = SIMD16<Float>(); var c06 = SIMD16<Float>()
    var c10 = SIMD16<Float>(); var c11 = SIMD16<Float>(); var c12 = SIMD16<Float>(); var c13 = SIMD16<Float>(); var c14 = SIMD16<Float>(); var c15 = SIMD16<Float>(); var c16 = SIMD16<Float>()
    var pa = a
    var pb = b
    for _ in 0..<steps {
        let x0 = loadUnaligned16(pa)
        let x1 = mr > 1 ? loadUnaligned16(pa + 1 * lda) : SIMD16<Float>()
        do {
            let w = loadUnaligned16(pb + 0 * bColumnStride)
            c00 = c00.addingProduct(x0, w)
            if mr > 1 { c10 = c10.addingProduct(x1, w) }
        }
        if nc > 1 {
            let w = loadUnaligned16(pb + 1 * bColumnStride)
            c01 = c01.addingProduct(x0, w)
            if mr > 1 { c11 = c11.addingProduct(x1, w) }
        }
        if nc > 2 {
            let w = loadUnaligned16(pb + 2 * bColumnStride)
            c02 = c02.addingProduct(x0, w)
            if mr > 1 { c12 = c12.addingProduct(x1, w) }
        }
        if nc > 3 {
            let w = loadUnaligned16(pb + 3 * bColumnStride)
            c03 = c03.addingProduct(x0, w)
            if mr > 1 { c13 = c13.addingProduct(x1, w) }
        }
        if nc > 4 {
            let w = loadUnaligned16(pb + 4 * bColumnStride)
            c04 = c04.addingProduct(x0, w)
            if mr > 1 { c14 = c14.addingProduct(x1, w) }
        }
        if nc > 5 {
            let w = loadUnaligned16(pb + 5 * bColumnStride)
            c05 = c05.addingProduct(x0, w)
            if mr > 1 { c15 = c15.addingProduct(x1, w) }
        }
        if nc > 6 {
            let w = loadUnaligned16(pb + 6 * bColumnStride)
            c06 = c06.addingProduct(x0, w)
            if mr > 1 { c16 = c16.addingProduct(x1, w) }
        }
        pa += 16
        pb += bStepStride
    }
    t[0] = horizontalSum(c00)
    if nc > 1 { t[1] = horizontalSum(c01) }
    if nc > 2 { t[2] = horizontalSum(c02) }
    if nc > 3 { t[3] = horizontalSum(c03) }
    if nc > 4 { t[4] = horizontalSum(c04) }
    if nc > 5 { t[5] = horizontalSum(c05) }
    if nc > 6 { t[6] = horizontalSum(c06) }
    if mr > 1 { t[8] = horizontalSum(c10) }
    if mr > 1 && nc > 1 { t[9] = horizontalSum(c11) }
    if mr > 1 && nc > 2 { t[10] = horizontalSum(c12) }
    if mr > 1 && nc > 3 { t[11] = horizontalSum(c13) }
    if mr > 1 && nc > 4 { t[12] = horizontalSum(c14) }
    if mr > 1 && nc > 5 { t[13] = horizontalSum(c15) }
    if mr > 1 && nc > 6 { t[14] = horizontalSum(c16) }
}

/// The sum of 16 lanes as a tree (the standard library's `sum()` adds them one after another).
@inline(__always)
func horizontalSum(_ v: SIMD16<Float>) -> Float {
    let v8 = v.lowHalf + v.highHalf
    let v4 = v8.lowHalf + v8.highHalf
    let v2 = v4.lowHalf + v4.highHalf
    return v2[0] + v2[1]
}

/// Dot-product tiles over rows `rows` and columns `columns`, stored to `out` (row stride `ldo`;
/// overwritten, or added to when `accumulate`):
///
///     out[i·ldo + j] (+)= Σ_{h<steps} Σ_{c<16} a[i·lda + 16h + c] · b[h·stepStride + j·columnStride + c]
///                       + Σ_{c<tail} a[i·lda + 16·steps + c] · b[steps·stepStride + j·columnStride + c]
///
/// Column blocks of 7 are outermost, so that their slice of `b` stays in cache for all rows.
func computeDots(
    _ a: UnsafePointer<Float>, lda: Int, rows: Range<Int>, _ b: UnsafePointer<Float>, stepStride: Int, columnStride: Int,
    columns: Range<Int>, steps: Int, tail: Int, into out: UnsafeMutablePointer<Float>, ldo: Int, accumulate: Bool = false
) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: 16) { buffer in
        let t = buffer.baseAddress!
        var j = columns.lowerBound
        while j < columns.upperBound {
            let nc = min(7, columns.upperBound - j)
            var i = rows.lowerBound
            while i < rows.upperBound {
                let mr = min(2, rows.upperBound - i)
                let rowA = a + i * lda
                let columnB = b + j * columnStride
                tileDot(rows: mr, columns: nc, rowA, lda, columnB, stepStride, columnStride, steps, t)
                for r in 0..<mr {
                    for c in 0..<nc {
                        var sum = t[r * 8 + c]
                        let tailA = rowA + r * lda + 16 * steps
                        let tailB = columnB + steps * stepStride + c * columnStride
                        for p in 0..<tail { sum += tailA[p] * tailB[p] }
                        if accumulate { sum += out[(i + r) * ldo + j + c] }
                        out[(i + r) * ldo + j + c] = sum
                    }
                }
                i += 2
            }
            j += 7
        }
    }
}

/// The full 2×7 tile in a function of its own, register-allocated apart from the other cases.
@inline(never)
func fullTileDot(
    _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ stepStride: Int, _ columnStride: Int, _ steps: Int,
    _ t: UnsafeMutablePointer<Float>
) {
    kernelDot2x7(rows: 2, columns: 7, a, lda, b, stepStride, columnStride, steps: steps, into: t)
}

func tileDot(
    rows mr: Int, columns nc: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ stepStride: Int,
    _ columnStride: Int, _ steps: Int, _ t: UnsafeMutablePointer<Float>
) {
    switch (mr, nc) {
    case (2, 7): fullTileDot(a, lda, b, stepStride, columnStride, steps, t)
    case (2, 6): kernelDot2x7(rows: 2, columns: 6, a, lda, b, stepStride, columnStride, steps: steps, into: t)
    case (2, 5): kernelDot2x7(rows: 2, columns: 5, a, lda, b, stepStride, columnStride, steps: steps, into: t)
    case (2, 4): kernelDot2x7(rows: 2, columns: 4, a, lda, b, stepStride, columnStride, steps: steps, into: t)
    case (2, 3): kernelDot2x7(rows: 2, columns: 3, a, lda, b, stepStride, columnStride, steps: steps, into: t)
    case (2, 2): kernelDot2x7(rows: 2, columns: 2, a, lda, b, stepStride, columnStride, steps: steps, into: t)
    case (2, _): kernelDot2x7(rows: 2, columns: 1, a, lda, b, stepStride, columnStride, steps: steps, into: t)
    case (_, 7): kernelDot2x7(rows: 1, columns: 7, a, lda, b, stepStride, columnStride, steps: steps, into: t)
    case (_, 6): kernelDot2x7(rows: 1, columns: 6, a, lda, b, stepStride, columnStride, steps: steps, into: t)
    case (_, 5): kernelDot2x7(rows: 1, columns: 5, a, lda, b, stepStride, columnStride, steps: steps, into: t)
    case (_, 4): kernelDot2x7(rows: 1, columns: 4, a, lda, b, stepStride, columnStride, steps: steps, into: t)
    case (_, 3): kernelDot2x7(rows: 1, columns: 3, a, lda, b, stepStride, columnStride, steps: steps, into: t)
    case (_, 2): kernelDot2x7(rows: 1, columns: 2, a, lda, b, stepStride, columnStride, steps: steps, into: t)
    case (_, _): kernelDot2x7(rows: 1, columns: 1, a, lda, b, stepStride, columnStride, steps: steps, into: t)
    }
}
