// Flora's matrix products: y = x Wᵀ for a batch of rows against one packed weight, and the fused
// fLoRA product (DESIGN.md sections 1, 3 and 9). Own kernels, no BLAS: the register tiles are in
// MatMulKernels.swift, the blocking in MatMulDriver.swift, the naive references in
// MatMulReference.swift.

public enum MatMul {
    /// `y = x · Wᵀ`. `x` is `[rows, W.inputs]`, `y` is `[rows, W.outputs]`, both contiguous
    /// row-major; `y` is overwritten. As a plain loop:
    ///
    ///     for i in 0..<rows, j in 0..<n { y[i·n + j] = Σ_{p<k} x[i·k + p] · W[j, p] }
    public static func multiply(_ x: UnsafePointer<Float>, rows: Int, _ w: PackedMatrix, into y: UnsafeMutablePointer<Float>) {
        multiply(x, rows: rows, w, into: y, parallelism: .automatic)
    }

    /// `multiply(_:rows:_:into:)` with an explicit thread count (benchmarks and tests).
    public static func multiply(
        _ x: UnsafePointer<Float>, rows: Int, _ w: PackedMatrix, into y: UnsafeMutablePointer<Float>,
        parallelism: Parallelism
    ) {
        let n = w.outputs
        let k = w.inputs
        guard rows > 0, n > 0 else { return }
        let parts = ParallelRegion.parts(
            for: parallelism, flops: 2 * rows * n * k, maximumParts: w.panelCount)
        let x = SendablePointer(x)
        let y = SendablePointer(y)
        ParallelRegion.run(parts: parts) { part in
            let range = ParallelRegion.share(part, of: parts, total: w.panelCount)
            computePanels(x.pointer, lda: k, rows: rows, w, panelRange: range, sink: StoreSink(y: y.pointer, rowStride: n))
        }
    }

    /// The expanded product of `RowExpansion`, fused: adds into `y` (`[outputRows, W.outputs]`),
    /// which the caller zeroes or fills first. As a plain loop:
    ///
    ///     for e in 0..<rows.count, j in 0..<n {
    ///         let s = Σ_{p<k} x[inputRow[e]·k + p] · inputScale[e][p] · W[j, p]     // nil scale = 1
    ///         y[outputRow[e]·n + j] += factor[e] · outputScale[e][j] · s             // nil scale = 1
    ///     }
    ///
    /// The input scale is applied while the rows are copied into scratch (int8 products: while
    /// they are quantized), once per call and thread; the output scale and factor when each
    /// finished tile is stored. Threads split the
    /// output columns, so rows that share an output row never race.
    public static func multiplyExpanded(_ x: UnsafePointer<Float>, _ rows: RowExpansion, _ w: PackedMatrix, into y: UnsafeMutablePointer<Float>) {
        multiplyExpanded(x, rows, w, into: y, parallelism: .automatic)
    }

    /// `multiplyExpanded(_:_:_:into:)` with an explicit thread count (benchmarks and tests).
    public static func multiplyExpanded(
        _ x: UnsafePointer<Float>, _ rows: RowExpansion, _ w: PackedMatrix, into y: UnsafeMutablePointer<Float>,
        parallelism: Parallelism
    ) {
        let n = w.outputs
        let k = w.inputs
        let count = rows.count
        guard count > 0, n > 0 else { return }
        let parts = ParallelRegion.parts(
            for: parallelism, flops: 2 * count * n * k, maximumParts: w.panelCount)
        let x = SendablePointer(x)
        let y = SendablePointer(y)
        let inputRow = SendablePointer(rows.inputRow)
        let inputScale = SendablePointer(rows.inputScale)
        let outputRow = SendablePointer(rows.outputRow)
        let outputScale = SendablePointer(rows.outputScale)
        let factor = SendablePointer(rows.factor)
        ParallelRegion.run(parts: parts) { part in
            let range = ParallelRegion.share(part, of: parts, total: w.panelCount)
            let sink = ExpandedSink(
                y: y.pointer, outputs: n, outputRow: outputRow.pointer, outputScale: outputScale.pointer, factor: factor.pointer)
            if w.usesInt8Kernels {
                let rows = Int8Rows(expanding: x.pointer, inputRow: inputRow.pointer, inputScale: inputScale.pointer, count: count, inputs: k)
                computeInt8Panels(rows, QuantizedPanelSet(w), panelRange: range, sink: sink)
                return
            }
            let scaled = expandedInputRows(x.pointer, inputRow: inputRow.pointer, inputScale: inputScale.pointer, count: count, inputs: k)
            computePanels(scaled, lda: k, rows: count, w, panelRange: range, sink: sink)
        }
    }

    /// The expanded input rows `[count, k]` in this thread's scratch: row e is
    /// `x[inputRow[e]] ∘ inputScale[e]`. Every part of a region scales its own copy: a few µs,
    /// against the cross-core traffic of reading rows that another core has just written.
    static func expandedInputRows(
        _ x: UnsafePointer<Float>, inputRow: UnsafePointer<Int32>, inputScale: UnsafePointer<UnsafePointer<Float>?>,
        count: Int, inputs k: Int
    ) -> UnsafeMutablePointer<Float> {
        let scaled = ThreadScratch.floats(count * k)  // [count, k]
        for e in 0..<count {
            let source = x + Int(inputRow[e]) * k
            let target = scaled + e * k
            if let scale = inputScale[e] {
                multiplyElementwise(source, scale, into: target, count: k)
            } else {
                target.update(from: source, count: k)
            }
        }
        return scaled
    }

    /// `target[p] = source[p] · scale[p]` for `p < count`.
    @inline(__always)
    static func multiplyElementwise(
        _ source: UnsafePointer<Float>, _ scale: UnsafePointer<Float>, into target: UnsafeMutablePointer<Float>, count: Int
    ) {
        var p = 0
        while p + 16 <= count {
            store16(loadUnaligned16(source + p) * loadUnaligned16(scale + p), target + p)
            p += 16
        }
        while p < count {
            target[p] = source[p] * scale[p]
            p += 1
        }
    }
}
