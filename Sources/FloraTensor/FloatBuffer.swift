// Owned, aligned float memory: the storage under every tensor, weight panel and scratch buffer.

/// A contiguous block of `Float`, 64-byte aligned so that `SIMD16<Float>` loads never split a
/// cache line. Weights are written once while loading and then only read, from any thread;
/// scratch buffers belong to one caller. The class cannot check which use it serves, so it is
/// the one documented `@unchecked Sendable` holder of raw memory in Flora's tensor layer.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    /// Zero-filled storage of `count` floats.
    public init(count: Int) {
        precondition(count >= 0, "FloatBuffer count must be non-negative, got \(count)")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 16) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 16))
        pointer.initialize(repeating: 0, count: max(count, 16))
    }

    /// Storage whose contents are unspecified until written: large pools (the KV cache) cost
    /// no page faults for memory they never touch.
    public init(uninitializedCount count: Int) {
        precondition(count >= 0, "FloatBuffer count must be non-negative, got \(count)")
        self.count = count
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(count, 16) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 16))
    }

    public convenience init(_ values: [Float]) {
        self.init(count: values.count)
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { pointer.update(from: base, count: values.count) }
        }
    }

    deinit { pointer.deallocate() }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }

    public func toArray() -> [Float] { Array(buffer) }
}
