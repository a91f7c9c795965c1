// A linear layer's weight W [n, k] (n outputs, k inputs), re-laid into panels for the
// matrix-product kernels of MatMul.swift (DESIGN.md sections 3 and 9).

/// The weight of `y = W x` with `W` row-major `[outputs, inputs]` (Hugging Face's layout), stored
/// as panels of `panelWidth` consecutive output columns. Inside a panel the layout is k-major:
///
///     panel q holds W[q·32 + c, p] at offset q·(32·inputs) + p·32 + c      (c < 32, p < inputs)
///
/// so a kernel that walks p reads one contiguous stream of 32 floats per step, which is what its
/// SIMD16 accumulators consume. The last panel is padded with zero columns when `outputs` is not
/// a multiple of 32. The unpacked copy is not kept: the footprint is `paddedOutputs × inputs` floats.
///
/// A packed matrix may instead keep ggml's Q8_0 or Q4_1 blocks, re-laid per panel
/// (QuantizedPanels.swift); the products then dequantize inside the kernels, to the same fp32
/// values as `BlockFormat.dequantize`.
public final class PackedMatrix: Sendable {
    /// Output columns per panel; the kernels' register tiles are built around it.
    public static let panelWidth = 32

    public let outputs: Int
    public let inputs: Int
    /// Number of panels, `ceil(outputs / 32)`.
    public let panelCount: Int
    /// How the panels store W: `.f32`, `.q8_0` or `.q4_1`.
    public let format: BlockFormat
    /// `.f32`: `[panelCount, inputs, 32]` floats, 64-byte aligned. Quantized: the panel tiles of
    /// QuantizedPanels.swift, held as raw bytes.
    let panels: FloatBuffer
    /// How products with quantized panels compute (`.exact` for fp32 panels).
    public let products: QuantizedProducts
    /// Whether products run the int8 kernels of MatMulInt8.swift: asked for, a Q8_0 or Q4_1
    /// matrix, and a CPU that has them.
    let usesInt8Kernels: Bool

    /// A matrix over already laid-out panels (the quantized initialiser).
    init(outputs: Int, inputs: Int, format: BlockFormat, panels: FloatBuffer, products: QuantizedProducts) {
        self.outputs = outputs
        self.inputs = inputs
        self.format = format
        self.panels = panels
        self.products = products
        usesInt8Kernels = products == .int8 && (format == .q4_1 || format == .q8_0) && Int8Kernels.isSupported
        panelCount = (outputs + Self.panelWidth - 1) / Self.panelWidth
    }

    /// Packs a row-major `[outputs, inputs]` weight.
    public convenience init(weight: UnsafePointer<Float>, outputs: Int, inputs: Int) {
        self.init(outputs: outputs, inputs: inputs) { firstRow, rowCount, destination in
            destination.update(from: weight + firstRow * inputs, count: rowCount * inputs)
        }
    }

    /// Packs a `[outputs, inputs]` tensor.
    public convenience init(_ tensor: Tensor) {
        precondition(tensor.shape.count == 2, "PackedMatrix needs a 2-D weight, got shape \(tensor.shape)")
        self.init(weight: tensor.pointer, outputs: tensor.shape[0], inputs: tensor.shape[1])
    }

    /// Packs a weight whose rows come from `fillRows` a panel at a time, so that a loader can
    /// dequantize or convert straight into the packed layout without an fp32 copy of all of W.
    /// `fillRows(firstRow, rowCount, destination)` must write rows `firstRow ..< firstRow + rowCount`
    /// of W (`rowCount ≤ 32`), row-major `[rowCount, inputs]`, into `destination`.
    public init(
        outputs: Int, inputs: Int,
        fillRows: (_ firstRow: Int, _ rowCount: Int, _ destination: UnsafeMutablePointer<Float>) throws -> Void
    ) rethrows {
        precondition(outputs >= 0 && inputs >= 0, "PackedMatrix needs non-negative dimensions, got \(outputs)×\(inputs)")
        let width = Self.panelWidth
        self.outputs = outputs
        self.inputs = inputs
        format = .f32
        products = .exact
        usesInt8Kernels = false
        panelCount = (outputs + width - 1) / width
        panels = FloatBuffer(count: panelCount * width * inputs)
        let rows = FloatBuffer(count: width * inputs)  // [32, inputs], one panel's rows
        for q in 0..<panelCount {
            let firstRow = q * width
            let rowCount = min(width, outputs - firstRow)
            try fillRows(firstRow, rowCount, rows.pointer)
            let panel = panels.pointer + q * width * inputs
            for c in 0..<rowCount {
                let row = rows.pointer + c * inputs
                for p in 0..<inputs { panel[p * width + c] = row[p] }
            }
        }
    }

    /// W back in its row-major `[outputs, inputs]` layout (a new tensor), for tests and training.
    /// Quantized weights come back dequantized.
    public func unpacked() -> Tensor {
        if format != .f32 { return dequantized().unpacked() }
        let result = Tensor(zeros: [outputs, inputs])
        let width = Self.panelWidth
        for j in 0..<outputs {
            let panel = panels.pointer + (j / width) * width * inputs
            let c = j % width
            let row = result.pointer + j * inputs
            for p in 0..<inputs { row[p] = panel[p * width + c] }
        }
        return result
    }
}
