// A linear layer's weight W [n, k] (n outputs, k inputs), re-laid for the matrix-product kernels.

/// The weight of `y = W x` with `W` row-major `[outputs, inputs]` (Hugging Face's layout).
/// PLACEHOLDER LAYOUT: keeps W as is; the packed-panel kernel replaces it.
public final class PackedMatrix: Sendable {
    public let outputs: Int
    public let inputs: Int
    let weight: FloatBuffer  // [outputs, inputs]

    public init(weight: UnsafePointer<Float>, outputs: Int, inputs: Int) {
        self.outputs = outputs
        self.inputs = inputs
        let copy = FloatBuffer(count: outputs * inputs)
        copy.pointer.update(from: weight, count: outputs * inputs)
        self.weight = copy
    }

    /// Packs a `[outputs, inputs]` tensor.
    public convenience init(_ tensor: Tensor) {
        precondition(tensor.shape.count == 2, "PackedMatrix needs a 2-D weight, got shape \(tensor.shape)")
        self.init(weight: tensor.pointer, outputs: tensor.shape[0], inputs: tensor.shape[1])
    }
}
