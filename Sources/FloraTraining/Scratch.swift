// Growable scratch of the training pass: allocated once, grown when a batch needs more, never
// per token (STYLE.md habit 3). Contents do not survive growth.

import FloraTensor

/// A float buffer that grows on demand.
final class FloatScratch {
    private(set) var buffer = FloatBuffer(count: 0)

    /// Room for `count` floats; returns the (possibly new) base pointer.
    @discardableResult
    func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > buffer.count { buffer = FloatBuffer(count: max(count, buffer.count * 3 / 2)) }
        return buffer.pointer
    }

    var pointer: UnsafeMutablePointer<Float> { buffer.pointer }
}

/// The five arrays of one `RowExpansion`, grown together.
final class ExpansionArrays {
    private(set) var capacity = 0
    private(set) var inputRow = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    private(set) var inputScale = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: 1)
    private(set) var outputRow = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
    private(set) var outputScale = UnsafeMutablePointer<UnsafePointer<Float>?>.allocate(capacity: 1)
    private(set) var factor = UnsafeMutablePointer<Float>.allocate(capacity: 1)

    deinit { release() }

    func reserve(_ count: Int) {
        guard count > capacity else { return }
        release()
        capacity = max(count, capacity * 3 / 2)
        inputRow = .allocate(capacity: capacity)
        inputScale = .allocate(capacity: capacity)
        outputRow = .allocate(capacity: capacity)
        outputScale = .allocate(capacity: capacity)
        factor = .allocate(capacity: capacity)
    }

    func expansion(count: Int) -> RowExpansion {
        RowExpansion(count: count, inputRow: inputRow, inputScale: inputScale, outputRow: outputRow, outputScale: outputScale, factor: factor)
    }

    private func release() {
        inputRow.deallocate()
        inputScale.deallocate()
        outputRow.deallocate()
        outputScale.deallocate()
        factor.deallocate()
    }
}
