// The product against quantized panels (QuantizedPanels.swift). For 5 or more rows the weights
// are dequantized inside the product into this thread's L2 scratch, in the fp32 panel layout, and
// the fp32 register tiles of MatMulKernels.swift run on them; fewer rows decode in registers
// (MatMulQuantizedKernels.swift; the K-quants' in MatMulKQuantKernels.swift).
// The result is bit for bit the product with the dequantized fp32 weight (same values, same
// summation order).

/// `sink ← a · Wᵀ` over `panelRange`, as `computePanels` for fp32 panels.
///
/// 8-row tiles (5 or more rows): per row block, each panel is dequantized whole (`32 · k`
/// floats) once and every 8-row tile of the block reuses it. The 1–4 remaining rows (decode):
/// the two-row register kernels of MatMulQuantizedKernels.swift decode the codes straight into
/// the FMAs. Every path sums each output over p = 0 ..< k in order in one FMA chain, as the fp32
/// kernels do, so a row's result is bit for bit the same whatever other rows share the call
/// (continuous batching must not change a sequence's tokens).
func computeQuantizedPanels<Sink: TileSink>(
    _ a: UnsafePointer<Float>, lda: Int, rows m: Int, _ panels: QuantizedPanelSet, panelRange: Range<Int>,
    rowBlock: Int, sink: Sink
) {
    let k = panels.inputs
    let n = panels.outputs
    let kBlocks = panels.blockCount
    let remainder = m % 8 < 5 ? m % 8 : 0
    let tiledRows = m - remainder
    let weightFloats = tiledRows > 0 ? 32 * k : 0
    let weights = ThreadScratch.weightFloats(weightFloats + 1024)
    let tile = weights + weightFloats      // [8, 128]
    var blockStart = 0
    while blockStart < tiledRows {
        let blockEnd = min(tiledRows, blockStart + rowBlock)
        for q in panelRange {
            panels.dequantize(panel: q, blocks: 0..<kBlocks, into: weights)
            let width = min(32, n - q * 32)
            var i = blockStart
            while i < blockEnd {
                let mr = min(8, blockEnd - i)
                tile8(rows: mr, a + i * lda, lda, weights, 32 * k, k, tile)
                sink.write(tile, firstRow: i, rowCount: mr, firstColumn: q * 32, width: width)
                i += 8
            }
        }
        blockStart = blockEnd
    }
    guard remainder > 0 else { return }
    let rows = a + tiledRows * lda
    var q = panelRange.lowerBound
    while q < panelRange.upperBound {
        let np = min(2, panelRange.upperBound - q)
        quantizedTile2(rows: min(2, remainder), panels: np, rows, lda, panels, panel: q, tile)
        if remainder > 2 {
            quantizedTile2(rows: remainder - 2, panels: np, rows + 2 * lda, lda, panels, panel: q, tile + 2 * 128)
        }
        sink.write(tile, firstRow: tiledRows, rowCount: remainder, firstColumn: q * 32, width: min(np * 32, n - q * 32))
        q += np
    }
}

/// `computePanels`, `computeInt8Panels` or `computeQuantizedPanels`, as `w` stores its panels
/// and computes its products.
@inline(__always)
func computePanels<Sink: TileSink>(
    _ a: UnsafePointer<Float>, lda: Int, rows m: Int, _ w: PackedMatrix, panelRange: Range<Int>, sink: Sink
) {
    let block = rowBlock(inputs: w.inputs, panels: panelRange.count)
    if w.format == .f32 {
        computePanels(a, lda: lda, rows: m, PanelSet(w), panelRange: panelRange, rowBlock: block, sink: sink)
    } else if w.usesInt8Kernels {
        computeInt8Panels(Int8Rows(quantizing: a, lda: lda, count: m, inputs: w.inputs), QuantizedPanelSet(w), panelRange: panelRange, sink: sink)
    } else {
        computeQuantizedPanels(a, lda: lda, rows: m, QuantizedPanelSet(w), panelRange: panelRange, rowBlock: block, sink: sink)
    }
}
