// A row-major float tensor: a shape over a FloatBuffer.

/// Row-major (last dimension contiguous) fp32 tensor. Linear-layer weights keep Hugging Face's
/// `[d_out, d_in]` layout. Copies share storage: a `Tensor` is a view, not a value of its elements.
public struct Tensor: Sendable {
    public let shape: [Int]
    public let storage: FloatBuffer

    public init(shape: [Int], storage: FloatBuffer) {
        precondition(shape.reduce(1, *) <= storage.count, "shape \(shape) needs more than \(storage.count) floats")
        self.shape = shape
        self.storage = storage
    }

    /// A zero-filled tensor.
    public init(zeros shape: [Int]) {
        self.init(shape: shape, storage: FloatBuffer(count: shape.reduce(1, *)))
    }

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
        self.init(shape: shape, storage: FloatBuffer(values))
    }

    public var count: Int { shape.reduce(1, *) }
    public var pointer: UnsafeMutablePointer<Float> { storage.pointer }
    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: storage.pointer, count: count) }
    public func toArray() -> [Float] { Array(buffer) }

    /// Rows of a 2-D tensor, `[rows, columns]`.
    public var rows: Int { shape.count == 2 ? shape[0] : 1 }
    public var columns: Int { shape.last ?? 1 }
}
