// The other two products a backward pass and small adapter products need: dx = dy · W against a
// packed weight, and a · bᵀ for two plain row-major matrices. Both reuse the register tiles of
// MatMulKernels.swift by packing their right-hand side into panels on the fly.

extension MatMul {
    /// `dx = dy · W` (the input gradient of `y = x · Wᵀ`). `dy` is `[rows, W.outputs]`, `dx` is
    /// `[rows, W.inputs]` and is overwritten. As a plain loop:
    ///
    ///     for i in 0..<rows, p in 0..<k { dx[i·k + p] = Σ_{j<n} dy[i·n + j] · W[j, p] }
    ///
    /// Each thread gathers a 32-column slice of W into an `[n, 32]` panel of its own scratch,
    /// then runs the ordinary tiles over it; the gather costs one pass over W per call.
    public static func multiplyTransposedWeight(
        _ dy: UnsafePointer<Float>, rows: Int, _ w: PackedMatrix, into dx: UnsafeMutablePointer<Float>,
        parallelism: Parallelism = .automatic
    ) {
        let n = w.outputs
        let k = w.inputs
        guard rows > 0, k > 0 else { return }
        let columnPanels = (k + 31) / 32
        let parts = ParallelRegion.parts(
            for: parallelism, flops: 2 * rows * n * k, maximumParts: columnPanels, automaticThreshold: parallelFlops)
        let dy = SendablePointer(dy)
        let dx = SendablePointer(dx)
        ParallelRegion.run(parts: parts) { part in
            let slice = ThreadScratch.floats(32 * n)  // [n, 32]: columns 32q ..< 32q + 32 of W
            let packed = w.panels.pointer
            for q in ParallelRegion.share(part, of: parts, total: columnPanels) {
                let width = min(32, k - q * 32)
                for j in 0..<n {
                    let source = packed + (j / 32) * 32 * k + (q * 32) * 32 + j % 32  // W[j, 32q]
                    let target = slice + j * 32
                    for c in 0..<width { target[c] = source[c * 32] }
                    for c in width..<32 { target[c] = 0 }
                }
                let panels = PanelSet(base: UnsafePointer(slice), stride: 32 * n, outputs: width, inputs: n)
                computePanels(
                    dy.pointer, lda: n, rows: rows, panels, panelRange: 0..<1, rowBlock: rows,
                    sink: StoreSink(y: dx.pointer + q * 32, rowStride: k))
            }
        }
    }

    /// `c = a · bᵀ` for plain row-major matrices: `a` is `[rows, inputs]`, `b` is
    /// `[outputs, inputs]`, `c` is `[rows, outputs]` and is overwritten — the shape of LoRA's
    /// shrink (`x · Aᵀ`) and expand (`(x Aᵀ) · Bᵀ`) products. As a plain loop:
    ///
    ///     for i in 0..<rows, j in 0..<outputs { c[i·outputs + j] = Σ_{p<inputs} a[i·inputs + p] · b[j·inputs + p] }
    ///
    /// `b` is packed into this thread's scratch on every call (`outputs × inputs` floats, meant
    /// for adapter-sized `b`; pack a large, reused `b` once as a `PackedMatrix` instead).
    public static func multiplyUnpacked(
        _ a: UnsafePointer<Float>, rows: Int, _ b: UnsafePointer<Float>, outputs: Int, inputs: Int,
        into c: UnsafeMutablePointer<Float>, parallelism: Parallelism = .automatic
    ) {
        guard rows > 0, outputs > 0 else { return }
        let panelCount = (outputs + 31) / 32
        let packed = ThreadScratch.floats(panelCount * 32 * inputs)  // [panelCount, inputs, 32]
        for q in 0..<panelCount {
            let panel = packed + q * 32 * inputs
            let width = min(32, outputs - q * 32)
            for p in 0..<inputs {
                let source = b + (q * 32) * inputs + p
                let target = panel + p * 32
                for c in 0..<width { target[c] = source[c * inputs] }
                for c in width..<32 { target[c] = 0 }
            }
        }
        let parts = ParallelRegion.parts(
            for: parallelism, flops: 2 * rows * outputs * inputs, maximumParts: panelCount, automaticThreshold: parallelFlops)
        let a = SendablePointer(a)
        let c = SendablePointer(c)
        let base = SendablePointer(packed)
        ParallelRegion.run(parts: parts) { part in
            let panels = PanelSet(base: UnsafePointer(base.pointer), stride: 32 * inputs, outputs: outputs, inputs: inputs)
            let range = ParallelRegion.share(part, of: parts, total: panelCount)
            computePanels(
                a.pointer, lda: inputs, rows: rows, panels, panelRange: range,
                rowBlock: rowBlock(inputs: inputs, panels: range.count), sink: StoreSink(y: c.pointer, rowStride: outputs))
        }
    }
}
