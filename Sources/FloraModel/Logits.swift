// The next-token logits a forward pass returns, `[rows, vocabulary]`.

import FloraTensor

/// A view of the forward scratch's logits that keeps their memory alive for as long as the
/// view lives (a bare pointer would not: Swift may release the scratch right after its last
/// use). Valid until the next forward with the same scratch overwrites it; every read goes
/// through the scratch's current pointer, so a stale view reads newer logits, never freed memory.
public struct Logits: RandomAccessCollection {
    let storage: ScratchBuffer<Float>
    public let rows: Int
    public let vocabularySize: Int

    public var startIndex: Int { 0 }
    public var endIndex: Int { rows * vocabularySize }
    public subscript(position: Int) -> Float {
        precondition(position >= 0 && position < endIndex, "logit index \(position) outside 0..<\(endIndex)")
        return storage.pointer[position]
    }

    /// Calls `body` with row `row`'s `vocabularySize` logits.
    public func withRow<R>(_ row: Int, _ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        precondition(row >= 0 && row < rows, "logit row \(row) outside 0..<\(rows)")
        return try withExtendedLifetime(storage) {
            try body(UnsafeBufferPointer(start: storage.pointer + row * vocabularySize, count: vocabularySize))
        }
    }

    /// Row `row` copied out.
    public func row(_ row: Int) -> [Float] { withRow(row) { Array($0) } }
}
