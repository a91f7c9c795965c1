// The process-independent hash and generator that block keys, derived seeds and checkpoint
// fingerprints rest on: their values may never change, so they are pinned here.
import FloraTensor
import Testing

@Suite struct StableHashTests {
    @Test(arguments: [("", 0xcbf2_9ce4_8422_2325), ("a", 0xaf63_dc4c_8601_ec8c), ("foobar", 0x8594_4171_f739_67e8)] as [(String, UInt64)])
    func fnv1aMatchesTheReferenceVectors(text: String, expected: UInt64) {
        #expect(FNV1a.hash(text) == expected)
    }

    @Test func wordsAreMixedLittleEndianOnEveryMachine() {
        var hash = FNV1a()
        hash.mix(UInt64(0x0102_0304_0506_0708))
        hash.mix(UInt32(0xA0B0_C0D0))
        #expect(hash.value == 0x4600_2705_6baa_b5e5)  // Python, over struct.pack('<Q', ...) + struct.pack('<I', ...)
    }

    @Test func wholeWordMixingKeepsTheTrainingFingerprintsOfEarlierRuns() {
        var hash = FNV1a()
        for word: UInt64 in [3, 5 << 1 | 1, 0] { hash.mix(wholeWord: word) }
        #expect(hash.value == 0xe20e_5718_710b_6481)
    }

    @Test func aStreamOfASeedIsTheSeedXorTheStreamTimesTheGoldenRatio() {
        var derived = SeededGenerator(seed: 42, stream: 3)
        var direct = SeededGenerator(seed: 42 ^ (3 &* 0x9E37_79B9_7F4A_7C15))
        #expect((0..<4).map { _ in derived.next() } == (0..<4).map { _ in direct.next() })
        var zero = SeededGenerator(seed: 0)
        #expect(zero.next() == 0xe220_a839_7b1d_cdaf)  // SplitMix64's first output for seed 0
    }
}
