import Dispatch
import Foundation
import Synchronization
import FloraTensor
import Testing

@Suite struct ParallelRegionTests {
    @Test(arguments: [1, 2, 3, 7, 64])
    func everyPartRunsExactlyOnce(parts: Int) {
        let counts = FloatBuffer(count: parts)
        let slots = SendablePointer(counts.pointer)
        for _ in 0..<100 {
            ParallelRegion.run(parts: parts) { part in slots.pointer[part] += 1 }
        }
        #expect(counts.toArray() == Array(repeating: 100, count: parts))
    }

    @Test func aRegionStartedInsideAnotherRunsItsPartsToo() {
        let counts = FloatBuffer(count: 4 * 3)
        let slots = SendablePointer(counts.pointer)
        ParallelRegion.run(parts: 4) { outer in
            ParallelRegion.run(parts: 3) { inner in slots.pointer[outer * 3 + inner] += 1 }
        }
        #expect(counts.toArray() == Array(repeating: 1, count: 12))
    }

    @Test func regionsStartedFromSeveralThreadsAtOnceAllComplete() {
        let counts = FloatBuffer(count: 8 * 5)
        let slots = SendablePointer(counts.pointer)
        DispatchQueue.concurrentPerform(iterations: 8) { caller in
            for _ in 0..<50 {
                ParallelRegion.run(parts: 5) { part in slots.pointer[caller * 5 + part] += 1 }
            }
        }
        #expect(counts.toArray() == Array(repeating: 50, count: 40))
    }

    /// Back-to-back regions of changing size while other threads take the cores: a worker that
    /// arrives late from one region must not count a part of the next one before the next
    /// region's counters are reset (that lost a part and held the caller forever).
    @Test func backToBackRegionsUnderContentionEachCountEveryPart() {
        let regions = 640_000
        let counts = FloatBuffer(count: 64)
        let slots = SendablePointer(counts.pointer)
        let done = DispatchSemaphore(value: 0)
        let stop = Atomic<Bool>(false)
        for _ in 0..<2 {
            Thread.detachNewThread { var x = 0; while !stop.load(ordering: .relaxed) { x &+= 1 }; _ = x }
        }
        Thread.detachNewThread {
            for region in 0..<regions {
                ParallelRegion.run(parts: 1 + region % 64) { part in slots.pointer[part] += 1 }
            }
            done.signal()
        }
        let finished = done.wait(timeout: .now() + 120) == .success
        stop.store(true, ordering: .relaxed)
        #expect(finished, "a region never returned")
        guard finished else { return }
        let expected = (0..<64).map { part in Float(regions / 64 * (64 - part)) }   // regions is a multiple of 64
        #expect(counts.toArray() == expected)
    }
}
