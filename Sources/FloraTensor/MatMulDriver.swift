// How MatMul walks rows and panels: blocking for the caches, choosing a register tile, and
// writing finished tiles through a sink (a plain store, or fLoRA's scaled accumulation).

/// Where a finished tile goes. `tile` is `[8, 128]` floats; rows `0 ..< rowCount` and columns
/// `0 ..< width` are valid and belong to product rows `firstRow ...` and output columns
/// `firstColumn ...`.
protocol TileSink {
    func write(_ tile: UnsafePointer<Float>, firstRow: Int, rowCount: Int, firstColumn: Int, width: Int)
}

/// `y[(firstRow + r) · rowStride + firstColumn + c] = tile[r, c]`.
struct StoreSink: TileSink {
    let y: UnsafeMutablePointer<Float>
    let rowStride: Int

    @inline(__always)
    func write(_ tile: UnsafePointer<Float>, firstRow: Int, rowCount: Int, firstColumn: Int, width: Int) {
        for r in 0..<rowCount {
            let source = tile + r * 128
            let target = y + (firstRow + r) * rowStride + firstColumn
            var c = 0
            while c + 16 <= width {
                store16(loadAligned16(source + c), target + c)
                c += 16
            }
            while c < width {
                target[c] = source[c]
                c += 1
            }
        }
    }
}

/// fLoRA's output side: product row `e` adds `factor[e] · outputScale[e] ∘ tile row` into
/// `y[outputRow[e]]` (see `RowExpansion`). Rows of one tile may share an output row; the tile's
/// rows are written in order by one thread, so that is safe.
struct ExpandedSink: TileSink {
    let y: UnsafeMutablePointer<Float>
    let outputs: Int
    let outputRow: UnsafePointer<Int32>
    let outputScale: UnsafePointer<UnsafePointer<Float>?>
    let factor: UnsafePointer<Float>

    @inline(__always)
    func write(_ tile: UnsafePointer<Float>, firstRow: Int, rowCount: Int, firstColumn: Int, width: Int) {
        for r in 0..<rowCount {
            let e = firstRow + r
            let source = tile + r * 128
            let target = y + Int(outputRow[e]) * outputs + firstColumn
            let f = factor[e]
            var c = 0
            if let scale = outputScale[e].map({ $0 + firstColumn }) {
                while c + 16 <= width {
                    let value = loadAligned16(source + c) * loadUnaligned16(scale + c)
                    store16(loadUnaligned16(target + c).addingProduct(f, value), target + c)
                    c += 16
                }
                while c < width {
                    target[c] += f * (scale[c] * source[c])
                    c += 1
                }
            } else {
                while c + 16 <= width {
                    store16(loadUnaligned16(target + c).addingProduct(f, loadAligned16(source + c)), target + c)
                    c += 16
                }
                while c < width {
                    target[c] += f * source[c]
                    c += 1
                }
            }
        }
    }
}

/// Packed panels in memory: panel `q` is `[inputs, 32]` at `base + q · stride`.
struct PanelSet {
    let base: UnsafePointer<Float>
    let stride: Int
    let outputs: Int
    let inputs: Int

    init(base: UnsafePointer<Float>, stride: Int, outputs: Int, inputs: Int) {
        self.base = base
        self.stride = stride
        self.outputs = outputs
        self.inputs = inputs
    }

    init(_ w: PackedMatrix) {
        precondition(w.format == .f32, "PanelSet reads fp32 panels; quantized panels go through QuantizedPanelSet")
        self.init(base: UnsafePointer(w.panels.pointer), stride: PackedMatrix.panelWidth * w.inputs, outputs: w.outputs, inputs: w.inputs)
    }

    var count: Int { (outputs + 31) / 32 }
}

/// Rows per cache block of the 8-row tiles. Each tile streams one panel (`32·k` floats) past
/// the block's rows. When this thread's share of W fits in its L2 next to the block, W stays
/// there and the block is kept small (128 KB of rows); when it does not (the MLP's and the
/// lm-head's weights), W comes from L3 or memory once per block, so blocks are larger (512 KB).
@inline(__always)
func rowBlock(inputs k: Int, panels: Int) -> Int {
    let shareBytes = panels * 32 * k * MemoryLayout<Float>.stride
    let blockFloats = shareBytes <= 768 * 1024 ? 32 * 1024 : 128 * 1024
    return max(8, blockFloats / max(k, 1) / 8 * 8)
}

/// Computes `sink ← a · Wᵀ` over `panelRange` for rows `0 ..< m` of `a` (`[m, lda]`, `k` used):
/// 8-row tiles while at least 5 rows remain, then the few-row kernels (4×64, 2×128), which keep
/// 16 accumulators busy by covering more panels.
func computePanels<Sink: TileSink>(
    _ a: UnsafePointer<Float>, lda: Int, rows m: Int, _ panels: PanelSet, panelRange: Range<Int>,
    rowBlock: Int, sink: Sink
) {
    let k = panels.inputs
    let n = panels.outputs
    let stride = panels.stride
    let remainder = m % 8 < 5 ? m % 8 : 0
    let tiledRows = m - remainder
    withUnsafeTemporaryAllocation(byteCount: 8 * 128 * MemoryLayout<Float>.stride, alignment: 64) { raw in
        let tile = raw.baseAddress!.bindMemory(to: Float.self, capacity: 8 * 128)
        var blockStart = 0
        while blockStart < tiledRows {
            let blockEnd = min(tiledRows, blockStart + rowBlock)
            for q in panelRange {
                let b = panels.base + q * stride
                let width = min(32, n - q * 32)
                var i = blockStart
                while i < blockEnd {
                    let mr = min(8, blockEnd - i)
                    tile8(rows: mr, a + i * lda, lda, b, stride, k, tile)
                    sink.write(tile, firstRow: i, rowCount: mr, firstColumn: q * 32, width: width)
                    i += 8
                }
            }
            blockStart = blockEnd
        }
        guard remainder > 0 else { return }
        let rows = a + tiledRows * lda
        let group = remainder <= 2 ? 4 : 2
        var q = panelRange.lowerBound
        while q < panelRange.upperBound {
            let np = min(group, panelRange.upperBound - q)
            let b = panels.base + q * stride
            if group == 4 {
                tile2(rows: remainder, panels: np, rows, lda, b, stride, k, tile)
            } else {
                tile4(rows: remainder, panels: np, rows, lda, b, stride, k, tile)
            }
            sink.write(tile, firstRow: tiledRows, rowCount: remainder, firstColumn: q * 32, width: min(np * 32, n - q * 32))
            q += np
        }
    }
}

// Dispatch to kernels inlined with literal sizes, so that each copy's guards fold away.

func tile8(rows mr: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ stride: Int, _ k: Int, _ t: UnsafeMutablePointer<Float>) {
    switch mr {
    case 8: kernel8x32(rows: 8, a, lda, b, stride, k, into: t)
    case 7: kernel8x32(rows: 7, a, lda, b, stride, k, into: t)
    case 6: kernel8x32(rows: 6, a, lda, b, stride, k, into: t)
    case 5: kernel8x32(rows: 5, a, lda, b, stride, k, into: t)
    case 4: kernel8x32(rows: 4, a, lda, b, stride, k, into: t)
    case 3: kernel8x32(rows: 3, a, lda, b, stride, k, into: t)
    case 2: kernel8x32(rows: 2, a, lda, b, stride, k, into: t)
    default: kernel8x32(rows: 1, a, lda, b, stride, k, into: t)
    }
}

func tile4(rows mr: Int, panels np: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ stride: Int, _ k: Int, _ t: UnsafeMutablePointer<Float>) {
    switch (mr, np) {
    case (4, 2): kernel4x64(rows: 4, panels: 2, a, lda, b, stride, k, into: t)
    case (4, _): kernel4x64(rows: 4, panels: 1, a, lda, b, stride, k, into: t)
    case (3, 2): kernel4x64(rows: 3, panels: 2, a, lda, b, stride, k, into: t)
    case (3, _): kernel4x64(rows: 3, panels: 1, a, lda, b, stride, k, into: t)
    case (2, 2): kernel4x64(rows: 2, panels: 2, a, lda, b, stride, k, into: t)
    case (2, _): kernel4x64(rows: 2, panels: 1, a, lda, b, stride, k, into: t)
    case (_, 2): kernel4x64(rows: 1, panels: 2, a, lda, b, stride, k, into: t)
    default: kernel4x64(rows: 1, panels: 1, a, lda, b, stride, k, into: t)
    }
}

func tile2(rows mr: Int, panels np: Int, _ a: UnsafePointer<Float>, _ lda: Int, _ b: UnsafePointer<Float>, _ stride: Int, _ k: Int, _ t: UnsafeMutablePointer<Float>) {
    switch (mr, np) {
    case (2, 4): kernel2x128(rows: 2, panels: 4, a, lda, b, stride, k, into: t)
    case (2, 3): kernel2x128(rows: 2, panels: 3, a, lda, b, stride, k, into: t)
    case (2, 2): kernel2x128(rows: 2, panels: 2, a, lda, b, stride, k, into: t)
    case (2, _): kernel2x128(rows: 2, panels: 1, a, lda, b, stride, k, into: t)
    case (_, 4): kernel2x128(rows: 1, panels: 4, a, lda, b, stride, k, into: t)
    case (_, 3): kernel2x128(rows: 1, panels: 3, a, lda, b, stride, k, into: t)
    case (_, 2): kernel2x128(rows: 1, panels: 2, a, lda, b, stride, k, into: t)
    default: kernel2x128(rows: 1, panels: 1, a, lda, b, stride, k, into: t)
    }
}
