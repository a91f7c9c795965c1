// The rows of fLoRA's expanded product (DESIGN.md section 1), consumed by MatMul.multiplyExpanded.

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
