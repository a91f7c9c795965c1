// The other two products a backward pass and adapter products need: dx = dy · W against a
// packed weight, and a · bᵀ for two plain row-major matrices. The first runs the dot-product
// tiles of MatMulDotKernels.swift straight on W's panels; the second picks dot products for a
// small b (LoRA's shrink) and the packed tiles of MatMulKernels.swift otherwise.

extension MatMul {
    /// `dx = dy · W` (the input gradient of `y = x · Wᵀ`). `dy` is `[rows, W.outputs]`, `dx` is
    /// `[rows, W.inputs]` and is overwritten. As a plain loop:
    ///
    ///     for i in 0..<rows, p in 0..<k { dx[i·k + p] = Σ_{j<n} dy[i·n + j] · W[j, p] }
    ///
    /// In panel q, the 32 weights W[32q ..< 32q + 32, p] lie side by side, so dx[i, p] is a sum
    /// of 16-float dot products with dy[i, 16h ..< 16h + 16] over the half-panels h. Threads
    /// split the columns of dx. For 7 columns at a time, the 16 floats of each half-panel are
    /// first copied side by side into scratch, `[halves, 7, 16]`, up to 48 halves (21 KB) before
    /// the sums carry on: read in place, from panels a multiple of 4 KB apart, they would all
    /// fall into the same few L1 sets. Quantized weights are dequantized to an fp32 copy first,
    /// on every call.
    public static func multiplyTransposedWeight(
        _ dy: UnsafePointer<Float>, rows: Int, _ w: PackedMatrix, into dx: UnsafeMutablePointer<Float>,
        parallelism: Parallelism = .automatic
    ) {
        let n = w.outputs
        let k = w.inputs
        guard rows > 0, k > 0 else { return }
        // Quantized weights: an fp32 copy per call (the training path; correctness first).
        let w = w.dequantized()
        let columnBlocks = (k + 6) / 7
        let fullHalves = n / 16
        let tail = n % 16
        let halfBlock = 48
        let parts = ParallelRegion.parts(
            for: parallelism, flops: 2 * rows * n * k, maximumParts: columnBlocks)
        let dy = SendablePointer(dy)
        let dx = SendablePointer(dx)
        ParallelRegion.run(parts: parts) { part in
            let packed = w.panels.pointer
            let slice = ThreadScratch.floats((halfBlock + 1) * 7 * 16)  // [halves, 7, 16]
            for block in ParallelRegion.share(part, of: parts, total: columnBlocks) {
                let firstColumn = block * 7
                let columns = min(7, k - firstColumn)
                var firstHalf = 0
                repeat {
                    let endHalf = min(fullHalves, firstHalf + halfBlock)
                    let isLast = endHalf == fullHalves
                    let copied = endHalf - firstHalf + (isLast && tail > 0 ? 1 : 0)
                    for h in 0..<copied {
                        let half = firstHalf + h
                        let source = packed + (half / 2) * 32 * k + firstColumn * 32 + (half % 2) * 16  // W[16·half, firstColumn]
                        let target = slice + h * 112
                        for c in 0..<columns { (target + c * 16).update(from: source + c * 32, count: 16) }
                    }
                    computeDots(
                        dy.pointer + firstHalf * 16, lda: n, rows: 0..<rows, slice, stepStride: 112, columnStride: 16,
                        columns: 0..<columns, steps: endHalf - firstHalf, tail: isLast ? tail : 0,
                        into: dx.pointer + firstColumn, ldo: k, accumulate: firstHalf > 0)
                    firstHalf = endHalf
                } while firstHalf < fullHalves
            }
        }
    }

    /// `c = a · bᵀ` for plain row-major matrices: `a` is `[rows, inputs]`, `b` is
    /// `[outputs, inputs]`, `c` is `[rows, outputs]` and is overwritten — the shape of LoRA's
    /// shrink (`x · Aᵀ`) and expand (`(x Aᵀ) · Bᵀ`) products. As a plain loop:
    ///
    ///     for i in 0..<rows, j in 0..<outputs { c[i·outputs + j] = Σ_{p<inputs} a[i·inputs + p] · b[j·inputs + p] }
    ///
    /// Fewer than 32 outputs over 16 or more inputs (a shrink) run as dot products on b as it
    /// is, threads splitting the rows. Otherwise b is packed into this thread's scratch on every
    /// call (`outputs × inputs` floats, meant for adapter-sized b: pack a large, reused b once as
    /// a `PackedMatrix`) and threads split its panels.
    public static func multiplyUnpacked(
        _ a: UnsafePointer<Float>, rows: Int, _ b: UnsafePointer<Float>, outputs: Int, inputs: Int,
        into c: UnsafeMutablePointer<Float>, parallelism: Parallelism = .automatic
    ) {
        guard rows > 0, outputs > 0 else { return }
        let flops = 2 * rows * outputs * inputs
        let a = SendablePointer(a)
        let c = SendablePointer(c)
        if outputs < 32 && inputs >= 16 {
            let rowPairs = (rows + 1) / 2
            let parts = ParallelRegion.parts(for: parallelism, flops: flops, maximumParts: rowPairs)
            let b = SendablePointer(b)
            ParallelRegion.run(parts: parts) { part in
                let pairs = ParallelRegion.share(part, of: parts, total: rowPairs)
                computeDots(
                    a.pointer, lda: inputs, rows: (pairs.lowerBound * 2)..<min(rows, pairs.upperBound * 2), b.pointer,
                    stepStride: 16, columnStride: inputs, columns: 0..<outputs, steps: inputs / 16, tail: inputs % 16,
                    into: c.pointer, ldo: outputs)
            }
            return
        }
        let panelCount = (outputs + 31) / 32
        let packed = ThreadScratch.floats(panelCount * 32 * inputs)  // [panelCount, inputs, 32]
        for q in 0..<panelCount {
            let panel = packed + q * 32 * inputs
            let width = min(32, outputs - q * 32)
            for p in 0..<inputs {
                let source = b + (q * 32) * inputs + p
                let target = panel + p * 32
                for column in 0..<width { target[column] = source[column * inputs] }
                for column in width..<32 { target[column] = 0 }
            }
        }
        let parts = ParallelRegion.parts(for: parallelism, flops: flops, maximumParts: panelCount)
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
