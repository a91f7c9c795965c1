// Growable per-call scratch of the adapter bank: allocated once, grown only when a batch needs
// more, never shrunk, never allocated per token (STYLE.md habit 3).

/// Uninitialised-on-growth storage of a trivial element type. Contents do not survive `reserve`
/// when it grows: every user fills what it reads within one call.
final class Scratch<Element> {
    private(set) var pointer: UnsafeMutablePointer<Element>
    private(set) var capacity: Int

    init(capacity: Int = 64) {
        self.capacity = max(capacity, 1)
        pointer = .allocate(capacity: self.capacity)
    }

    deinit { pointer.deallocate() }

    /// Makes room for `count` elements and returns the (possibly new) base pointer.
    @inline(__always)
    @discardableResult
    func reserve(_ count: Int) -> UnsafeMutablePointer<Element> {
        if count > capacity { grow(count) }
        return pointer
    }

    private func grow(_ count: Int) {
        pointer.deallocate()
        capacity = max(count, capacity * 2)
        pointer = .allocate(capacity: capacity)
    }

    @inline(__always) subscript(i: Int) -> Element {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }
}

/// The five arrays of one `RowExpansion`, grown together.
final class ExpansionScratch {
    let inputRow = Scratch<Int32>()
    let inputScale = Scratch<UnsafePointer<Float>?>()
    let outputRow = Scratch<Int32>()
    let outputScale = Scratch<UnsafePointer<Float>?>()
    let factor = Scratch<Float>()

    func reserve(_ count: Int) {
        inputRow.reserve(count)
        inputScale.reserve(count)
        outputRow.reserve(count)
        outputScale.reserve(count)
        factor.reserve(count)
    }
}
