// Growable scratch memory: allocated once, grown when a call needs more, never shrunk, so that a
// forward or training step allocates nothing once the largest batch has been seen (STYLE.md
// habit 3). Every layer's run state grows through this one type: the model's activations, the
// adapter bank's batch plan, the training pass's activations, the kernels' per-thread workspace.

/// Room for at least `capacity` elements of a plain type, 64-byte aligned (a SIMD16 row never
/// splits a cache line) and zero-filled whenever it is allocated. Contents do not survive
/// growth: every user fills what it reads within one call. One owner uses it at a time; a
/// parallel region reaches it through `SendablePointer`.
public final class ScratchBuffer<Element: BitwiseCopyable> {
    public private(set) var pointer: UnsafeMutablePointer<Element>
    public private(set) var capacity: Int

    public init(capacity: Int = 0) {
        (pointer, self.capacity) = Self.allocate(atLeast: capacity)
    }

    deinit { pointer.deallocate() }

    /// Makes room for `count` elements and returns the (possibly new) base pointer.
    @inlinable @inline(__always) @discardableResult
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Element> {
        if count > capacity { grow(to: count) }
        return pointer
    }

    @inlinable @inline(__always)
    public subscript(index: Int) -> Element {
        get { pointer[index] }
        set { pointer[index] = newValue }
    }

    /// Half as much again at least, so that a batch growing one token at a time reallocates
    /// only a logarithmic number of times.
    @usableFromInline
    func grow(to count: Int) {
        pointer.deallocate()
        (pointer, capacity) = Self.allocate(atLeast: max(count, capacity * 3 / 2))
    }

    /// Whole cache lines, at least one, zeroed.
    private static func allocate(atLeast count: Int) -> (UnsafeMutablePointer<Element>, Int) {
        precondition(count >= 0, "a scratch buffer cannot hold \(count) elements")
        let stride = MemoryLayout<Element>.stride
        let bytes = max(64, (count * stride + 63) / 64 * 64)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: max(64, MemoryLayout<Element>.alignment))
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        return (raw.bindMemory(to: Element.self, capacity: bytes / stride), bytes / stride)
    }
}
