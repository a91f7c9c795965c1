// Flora's matrix products: y = x Wᵀ for a batch of rows against one packed weight.

/// Rows of an fLoRA-style expanded product (DESIGN.md section 1): expanded row `e` reads input
/// row `inputRow[e]` scaled element-wise by `inputScale[e]` (k floats, or nil for ones), and adds
/// `factor[e] · outputScale[e] ∘ (W · row)` into output row `outputRow[e]` (n floats, nil for
/// ones). Rows sharing an output row are contiguous. All arrays hold `count` entries and belong
/// to the caller, which reuses them from step to step.
public struct RowExpansion {
    public var count: Int
    public var inputRow: UnsafeMutablePointer<Int32>
    public var inputScale: UnsafeMutablePointer<UnsafePointer<Float>?>
    public var outputRow: UnsafeMutablePointer<Int32>
    public var outputScale: UnsafeMutablePointer<UnsafePointer<Float>?>
    public var factor: UnsafeMutablePointer<Float>

    public init(
        count: Int,
        inputRow: UnsafeMutablePointer<Int32>,
        inputScale: UnsafeMutablePointer<UnsafePointer<Float>?>,
        outputRow: UnsafeMutablePointer<Int32>,
        outputScale: UnsafeMutablePointer<UnsafePointer<Float>?>,
        factor: UnsafeMutablePointer<Float>
    ) {
        self.count = count
        self.inputRow = inputRow
        self.inputScale = inputScale
        self.outputRow = outputRow
        self.outputScale = outputScale
        self.factor = factor
    }
}

public enum MatMul {
    /// `y[i, j] = Σ_p x[i, p] · W[j, p]` for `i < rows`, `j < W.outputs`; `x` is `[rows, W.inputs]`,
    /// `y` is `[rows, W.outputs]`, both contiguous. PLACEHOLDER: naive loop until the packed kernel lands.
    public static func multiply(_ x: UnsafePointer<Float>, rows: Int, _ w: PackedMatrix, into y: UnsafeMutablePointer<Float>) {
        MatMulReference.multiply(x, rows: rows, weight: w.weight.pointer, outputs: w.outputs, inputs: w.inputs, into: y)
    }

    /// The expanded product of `RowExpansion`; adds into `y` (`[outputRows, W.outputs]`), which the
    /// caller zeroes or fills first. PLACEHOLDER: naive loop until the fused kernel lands.
    public static func multiplyExpanded(_ x: UnsafePointer<Float>, _ rows: RowExpansion, _ w: PackedMatrix, into y: UnsafeMutablePointer<Float>) {
        MatMulReference.multiplyExpanded(x, rows, weight: w.weight.pointer, outputs: w.outputs, inputs: w.inputs, into: y)
    }
}

/// Naive references of the kernels in `MatMul`, for tests. Plain loops, double accumulation.
public enum MatMulReference {
    public static func multiply(
        _ x: UnsafePointer<Float>, rows: Int, weight: UnsafePointer<Float>, outputs: Int, inputs: Int,
        into y: UnsafeMutablePointer<Float>
    ) {
        for i in 0..<rows {
            for j in 0..<outputs {
                var sum = 0.0
                for p in 0..<inputs { sum += Double(x[i * inputs + p]) * Double(weight[j * inputs + p]) }
                y[i * outputs + j] = Float(sum)
            }
        }
    }

    public static func multiplyExpanded(
        _ x: UnsafePointer<Float>, _ rows: RowExpansion, weight: UnsafePointer<Float>, outputs: Int, inputs: Int,
        into y: UnsafeMutablePointer<Float>
    ) {
        for e in 0..<rows.count {
            let source = x + Int(rows.inputRow[e]) * inputs
            let target = y + Int(rows.outputRow[e]) * outputs
            for j in 0..<outputs {
                var sum = 0.0
                for p in 0..<inputs {
                    let scale = rows.inputScale[e].map { Double($0[p]) } ?? 1
                    sum += Double(source[p]) * scale * Double(weight[j * inputs + p])
                }
                let outScale = rows.outputScale[e].map { $0[j] } ?? 1
                target[j] += rows.factor[e] * outScale * Float(sum)
            }
        }
    }
}
