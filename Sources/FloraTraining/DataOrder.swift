// Seeded shuffling: each adapter's training sequences in a new random order every epoch, drawn
// from (seed, adapter, epoch) alone, so a checkpoint needs only the epoch and the position.

import FloraTensor

struct DataStream {
    let count: Int
    let seed: UInt64
    private(set) var epoch: Int
    private(set) var position: Int
    private var order: [Int]

    init(count: Int, seed: UInt64, epoch: Int = 0, position: Int = 0) {
        self.count = count
        self.seed = seed
        self.epoch = epoch
        self.position = position
        order = Self.permutation(count: count, seed: seed, epoch: epoch)
    }

    /// The next sequence's index, starting a new epoch when this one is used up.
    mutating func next() -> Int {
        if position == count {
            epoch += 1
            position = 0
            order = Self.permutation(count: count, seed: seed, epoch: epoch)
        }
        position += 1
        return order[position - 1]
    }

    /// Fisher–Yates with SplitMix64 seeded from (seed, epoch).
    static func permutation(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var generator = SeededGenerator(seed: seed, stream: UInt64(epoch))
        var order = Array(0..<count)
        if count > 1 {
            for i in stride(from: count - 1, to: 0, by: -1) {
                order.swapAt(i, Int(generator.next() % UInt64(i + 1)))
            }
        }
        return order
    }
}
