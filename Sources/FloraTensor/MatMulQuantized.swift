// The product against quantized panels (QuantizedPanels.swift): the weights are dequantized
// inside the product into this thread's L1/L2 scratch, in the fp32 panel layout, and the fp32
// register tiles of MatMulKernels.swift run on them. The result equals the product with the
// dequantized fp32 weight up to summation order.

/// k-blocks dequantized at a time for 3–4 rows: 2 panels × 64 inputs = 16 KB, which
/// stays in L1 while the tile kernel reads it back.
private let fewRowChunkBlocks = 2

/// `sink ← a · Wᵀ` over `panelRange`, as `computePanels` for fp32 panels.
///
/// 8-row tiles (5 or more rows): per row block, each panel is dequantized whole (`32 · k`
/// floats) once and every 8-row tile of the block reuses it. One or two rows (decode): the
/// register kernels of MatMulQuantizedKernels.swift decode the codes straight into the FMAs.
/// Three or four rows: pairs of panels are dequantized 64 inputs at a time into L1 and the
/// partial tiles of the fp32 4-row kernel summed.
func computeQuantizedPanels<Sink: TileSink>(
    _ a: UnsafePointer<Float>, lda: Int, rows m: Int, _ panels: QuantizedPanelSet, panelRange: Range<Int>,
    rowBlock: Int, sink: Sink
) {
    let k = panels.inputs
    let n = panels.outputs
    let kBlocks = k / 32
    let remainder = m % 8 < 5 ? m % 8 : 0
    let tiledRows = m - remainder
    let weightFloats = max(tiledRows > 0 ? 32 * k : 0, 4 * fewRowChunkBlocks * 1024)
    let weights = ThreadScratch.weightFloats(weightFloats + 2 * 1024)
    let tile = weights + weightFloats      // [8, 128]
    let sum = tile + 1024                  // [8, 128]
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
    if remainder <= 2 {
        var q = panelRange.lowerBound
        while q < panelRange.upperBound {
            let np = min(2, panelRange.upperBound - q)
            quantizedTile2(rows: remainder, panels: np, rows, lda, panels, panel: q, tile)
            sink.write(tile, firstRow: tiledRows, rowCount: remainder, firstColumn: q * 32, width: min(np * 32, n - q * 32))
            q += np
        }
        return
    }
    let group = 2
    var q = panelRange.lowerBound
    while q < panelRange.upperBound {
        let np = min(group, panelRange.upperBound - q)
        for r in 0..<remainder { (sum + r * 128).update(repeating: 0, count: np * 32) }
        var firstBlock = 0
        while firstBlock < kBlocks {
            let chunk = min(fewRowChunkBlocks, kBlocks - firstBlock)
            let chunkFloats = chunk * 1024
            for i in 0..<np {
                panels.dequantize(panel: q + i, blocks: firstBlock..<(firstBlock + chunk), into: weights + i * chunkFloats)
            }
            let x = rows + firstBlock * 32
            tile4(rows: remainder, panels: np, x, lda, weights, chunkFloats, chunk * 32, tile)
            for r in 0..<remainder {
                addTileRow(tile + r * 128, into: sum + r * 128, count: np * 32)
            }
            firstBlock += chunk
        }
        sink.write(sum, firstRow: tiledRows, rowCount: remainder, firstColumn: q * 32, width: min(np * 32, n - q * 32))
        q += np
    }
}

/// `target[c] += source[c]` for c < count (a multiple of 32, 64-byte aligned rows).
@inline(__always)
private func addTileRow(_ source: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int) {
    var c = 0
    while c < count {
        store16(load16(target + c) + load16(source + c), target + c)
        c += 16
    }
}

/// `computePanels` or `computeQuantizedPanels`, as `w` stores its panels.
@inline(__always)
func computePanels<Sink: TileSink>(
    _ a: UnsafePointer<Float>, lda: Int, rows m: Int, _ w: PackedMatrix, panelRange: Range<Int>, sink: Sink
) {
    let block = rowBlock(inputs: w.inputs, panels: panelRange.count)
    if w.format == .f32 {
        computePanels(a, lda: lda, rows: m, PanelSet(w), panelRange: panelRange, rowBlock: block, sink: sink)
    } else {
        computeQuantizedPanels(a, lda: lda, rows: m, QuantizedPanelSet(w), panelRange: panelRange, rowBlock: block, sink: sink)
    }
}
