// Where the rows of an expanded product are built, step after step: the adapter bank (serving)
// and the training pass both lay out `RowExpansion`s here.

/// The five arrays of one `RowExpansion`, grown together.
public final class RowExpansionScratch {
    public let inputRow = ScratchBuffer<Int32>()
    public let inputScale = ScratchBuffer<UnsafePointer<Float>?>()
    public let outputRow = ScratchBuffer<Int32>()
    public let outputScale = ScratchBuffer<UnsafePointer<Float>?>()
    public let factor = ScratchBuffer<Float>()

    public init() {}

    /// Makes room for `count` expanded rows.
    public func reserve(_ count: Int) {
        inputRow.reserve(count)
        inputScale.reserve(count)
        outputRow.reserve(count)
        outputScale.reserve(count)
        factor.reserve(count)
    }

    /// The first `count` rows, as `MatMul.multiplyExpanded` reads them.
    public func expansion(count: Int) -> RowExpansion {
        RowExpansion(
            count: count, inputRow: inputRow.pointer, inputScale: inputScale.pointer, outputRow: outputRow.pointer,
            outputScale: outputScale.pointer, factor: factor.pointer)
    }
}
