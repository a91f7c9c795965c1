import Dispatch
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
}
