// fLoRA's per-group merge (DESIGN.md section 1, "fLoRA per-group merge"): when T tokens of one
// step share one rank-r adapter, the adapted weight W' = W ∘ (B A) / r is formed once, straight
// into the fp32 panel layout of PackedMatrix.swift, and the group's T rows are multiplied with it
// instead of its T·r expanded rows. The naive reference is `MatMul.mergeFloraReference`.

extension PackedMatrix {
    /// Whether products with this matrix run the int8 kernels (MatMulInt8.swift), whose results a
    /// merged fp32 weight does not reproduce.
    public var multipliesInInt8: Bool { usesInt8Kernels }
}

extension MatMul {
    /// Floats of the merged panels of `w`: `panelCount · 32 · inputs` (padding columns included).
    public static func mergedPanelFloats(_ w: PackedMatrix) -> Int { w.panelCount * PackedMatrix.panelWidth * w.inputs }

    /// Writes `W' = factor · W ∘ (B A)` as fp32 panels (`mergedPanelFloats(w)` floats), with
    /// `B = bTᵀ`. As a plain loop, for the layout of `PackedMatrix`:
    ///
    ///     for i in 0..<n, p in 0..<k {
    ///         panels[(i / 32)·32k + p·32 + i % 32] = factor · W[i, p] · Σ_{j<rank} bT[j·n + i] · a[j·k + p]
    ///     }
    ///
    /// and zero in the padding columns. A quantized W is dequantized to the values its products
    /// use, so the merged product is the exact (fp32) product of the adapted weight, whatever
    /// `w.products` says.
    /// - Parameters: `a` is `[rank, inputs]`, `bT` is `[rank, outputs]` (fLoRA's `A` and `Bᵀ`).
    public static func mergeFlora(
        _ w: PackedMatrix, a: UnsafePointer<Float>, bT: UnsafePointer<Float>, rank: Int, factor: Float,
        into panels: UnsafeMutablePointer<Float>, parallelism: Parallelism = .automatic
    ) {
        let k = w.inputs, n = w.outputs
        guard k > 0, n > 0 else { return }
        let parts = ParallelRegion.parts(for: parallelism, flops: 2 * n * k * max(rank, 1), maximumParts: w.panelCount)
        let a = SendablePointer(a), bT = SendablePointer(bT), panels = SendablePointer(panels)
        ParallelRegion.run(parts: parts) { part in
            let quantized = w.format == .f32 ? nil : QuantizedPanelSet(w)
            let columns = ThreadScratch.floats(rank * 32)  // [rank, 32]: this panel's columns of Bᵀ, zero-padded
            for q in ParallelRegion.share(part, of: parts, total: w.panelCount) {
                let target = panels.pointer + q * 32 * k  // [k, 32]
                if let quantized {
                    quantized.dequantize(panel: q, blocks: 0..<quantized.blockCount, into: target)
                } else {
                    target.update(from: w.panels.pointer + q * 32 * k, count: 32 * k)
                }
                let width = min(32, n - q * 32)
                for j in 0..<rank {
                    let row = columns + j * 32
                    row.update(from: bT.pointer + j * n + q * 32, count: width)
                    if width < 32 { (row + width).update(repeating: 0, count: 32 - width) }
                }
                scalePanel(target, inputs: k, a: a.pointer, columns: columns, rank: rank, factor: factor)
            }
        }
    }

    /// `panel[p·32 + c] *= factor · Σ_j columns[j·32 + c] · a[j·k + p]`: four inputs at a time,
    /// so that each load of a column row feeds eight FMAs.
    @inline(__always)
    private static func scalePanel(
        _ panel: UnsafeMutablePointer<Float>, inputs k: Int, a: UnsafePointer<Float>, columns: UnsafePointer<Float>,
        rank: Int, factor: Float
    ) {
        var p = 0
        while p + 4 <= k {
            var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
            var s4 = SIMD16<Float>(), s5 = SIMD16<Float>(), s6 = SIMD16<Float>(), s7 = SIMD16<Float>()
            for j in 0..<rank {
                let low = loadUnaligned16(columns + j * 32), high = loadUnaligned16(columns + j * 32 + 16)
                let aj = a + j * k + p
                s0 = s0.addingProduct(aj[0], low); s1 = s1.addingProduct(aj[0], high)
                s2 = s2.addingProduct(aj[1], low); s3 = s3.addingProduct(aj[1], high)
                s4 = s4.addingProduct(aj[2], low); s5 = s5.addingProduct(aj[2], high)
                s6 = s6.addingProduct(aj[3], low); s7 = s7.addingProduct(aj[3], high)
            }
            let t = panel + p * 32
            store16(loadUnaligned16(t) * (s0 * factor), t); store16(loadUnaligned16(t + 16) * (s1 * factor), t + 16)
            store16(loadUnaligned16(t + 32) * (s2 * factor), t + 32); store16(loadUnaligned16(t + 48) * (s3 * factor), t + 48)
            store16(loadUnaligned16(t + 64) * (s4 * factor), t + 64); store16(loadUnaligned16(t + 80) * (s5 * factor), t + 80)
            store16(loadUnaligned16(t + 96) * (s6 * factor), t + 96); store16(loadUnaligned16(t + 112) * (s7 * factor), t + 112)
            p += 4
        }
        while p < k {
            var s0 = SIMD16<Float>(), s1 = SIMD16<Float>()
            for j in 0..<rank {
                let ajp = a[j * k + p]
                s0 = s0.addingProduct(ajp, loadUnaligned16(columns + j * 32))
                s1 = s1.addingProduct(ajp, loadUnaligned16(columns + j * 32 + 16))
            }
            let t = panel + p * 32
            store16(loadUnaligned16(t) * (s0 * factor), t)
            store16(loadUnaligned16(t + 16) * (s1 * factor), t + 16)
            p += 1
        }
    }

    /// `multiplyExpanded` against merged panels written by `mergeFlora` for a weight of
    /// `outputs × inputs`: adds `factor[e] · outputScale[e] ∘ (W' · (x[inputRow[e]] ∘ inputScale[e]))`
    /// into `y[outputRow[e]]` (a group's tokens use no scales: one row each, gathered and scattered).
    public static func multiplyExpanded(
        _ x: UnsafePointer<Float>, _ rows: RowExpansion, mergedPanels: UnsafePointer<Float>, outputs n: Int, inputs k: Int,
        into y: UnsafeMutablePointer<Float>, parallelism: Parallelism = .automatic
    ) {
        let count = rows.count
        guard count > 0, n > 0 else { return }
        let panelCount = (n + PackedMatrix.panelWidth - 1) / PackedMatrix.panelWidth
        let parts = ParallelRegion.parts(for: parallelism, flops: 2 * count * n * k, maximumParts: panelCount)
        let x = SendablePointer(x), y = SendablePointer(y), merged = SendablePointer(mergedPanels)
        let inputRow = SendablePointer(rows.inputRow), inputScale = SendablePointer(rows.inputScale)
        let outputRow = SendablePointer(rows.outputRow), outputScale = SendablePointer(rows.outputScale)
        let factor = SendablePointer(rows.factor)
        ParallelRegion.run(parts: parts) { part in
            let range = ParallelRegion.share(part, of: parts, total: panelCount)
            let panelSet = PanelSet(base: merged.pointer, stride: PackedMatrix.panelWidth * k, outputs: n, inputs: k)
            let sink = ExpandedSink(
                y: y.pointer, outputs: n, outputRow: outputRow.pointer, outputScale: outputScale.pointer, factor: factor.pointer)
            let scaled = expandedInputRows(x.pointer, inputRow: inputRow.pointer, inputScale: inputScale.pointer, count: count, inputs: k)
            computePanels(scaled, lda: k, rows: count, panelSet, panelRange: range, rowBlock: rowBlock(inputs: k, panels: range.count), sink: sink)
        }
    }

    /// `mergeFlora` as the plain loop of its documentation, row-major `[outputs, inputs]` (tests).
    public static func mergeFloraReference(
        _ w: PackedMatrix, a: UnsafePointer<Float>, bT: UnsafePointer<Float>, rank: Int, factor: Float
    ) -> Tensor {
        let merged = w.unpacked()  // [n, k]
        let k = w.inputs, n = w.outputs
        for i in 0..<n {
            for p in 0..<k {
                var s: Float = 0
                for j in 0..<rank { s += bT[j * n + i] * a[j * k + p] }
                merged.pointer[i * k + p] *= factor * s
            }
        }
        return merged
    }
}
