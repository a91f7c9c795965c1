// Block formats against values computed by hand from the ggml layouts, the fast loops against
// their per-element reference, and quantize → dequantize round trips.
import FloraTensor
import Testing

@Suite struct QuantizedBlockTests {
    func decode(_ format: BlockFormat, _ bytes: [UInt8]) -> [Float] {
        let blocks = bytes.count / format.bytesPerBlock
        var out = [Float](repeating: .nan, count: blocks * format.elementsPerBlock)
        bytes.withUnsafeBytes { source in
            out.withUnsafeMutableBufferPointer { format.dequantize(source.baseAddress!, blocks: blocks, into: $0.baseAddress!) }
        }
        return out
    }

    @Test func aQ8_0BlockIsItsScaleTimesItsSignedBytes() {
        // d = 0.5 (half 0x3800), q[i] = i − 16.
        let bytes: [UInt8] = [0x00, 0x38] + (0 ..< 32).map { UInt8(bitPattern: Int8($0 - 16)) }
        #expect(decode(.q8_0, bytes) == (0 ..< 32).map { Float($0 - 16) * 0.5 })
    }

    @Test func aQ4_0BlockHoldsLowNibblesFirstThenHighNibblesCenteredOnEight() {
        // d = 2 (half 0x4000); byte j: low nibble j, high nibble 15 − j.
        let bytes: [UInt8] = [0x00, 0x40] + (0 ..< 16).map { UInt8($0) | UInt8(15 - $0) << 4 }
        let low: [Float] = (0 ..< 16).map { (j: Int) -> Float in 2 * Float(j - 8) }
        let high: [Float] = (0 ..< 16).map { (j: Int) -> Float in 2 * Float(7 - j) }
        let expected = low + high
        #expect(decode(.q4_0, bytes) == expected)
    }

    @Test func aQ4_1BlockIsScaleTimesNibblePlusMinimum() {
        // d = 0.25 (half 0x3400), m = −1 (half 0xBC00); byte j: low nibble j, high nibble 3.
        let bytes: [UInt8] = [0x00, 0x34, 0x00, 0xBC] + (0 ..< 16).map { UInt8($0) | 3 << 4 }
        let expected = (0 ..< 16).map { 0.25 * Float($0) - 1 } + [Float](repeating: -0.25, count: 16)
        #expect(decode(.q4_1, bytes) == expected)
    }

    @Test func halvesDecodeToTheirIEEEValues() {
        let bits: [UInt16] = [0x3C00, 0xC000, 0x7BFF, 0x0001, 0x8000, 0x3555]
        let bytes = bits.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        #expect(decode(.f16, bytes) == [1, -2, 65504, 0x1p-24, -0.0, 0.333251953125])
    }

    @Test func bfloat16sAreTheHighHalfOfAFloat() {
        let bits: [UInt16] = [0x3F80, 0x4049, 0xC2F7, 0x0000]
        let bytes = bits.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        #expect(decode(.bf16, bytes) == [1, 3.140625, -123.5, 0])
        #expect(BlockFormat.bfloat16Bits(3.14159) == 0x4049)
        #expect(BlockFormat.bfloat16Bits(1.00390625) == 0x3F80) // a tie rounds to even
        #expect(BlockFormat.bfloat16Bits(1.01171875) == 0x3F82) // a tie rounds to even, upwards
    }

    @Test(arguments: BlockFormat.allCases)
    func theFastLoopsMatchThePerElementReference(format: BlockFormat) {
        var generator = SeededGenerator(seed: 7)
        let blocks = 37
        var bytes = (0 ..< blocks * format.bytesPerBlock).map { _ in UInt8.random(in: 0 ... 255, using: &generator) }
        // Keep scales finite: the exponent of every half scale below 0x7C00.
        if format == .q8_0 || format == .q4_0 || format == .q4_1 {
            for b in 0 ..< blocks {
                bytes[b * format.bytesPerBlock + 1] &= 0x3F
                if format == .q4_1 { bytes[b * format.bytesPerBlock + 3] &= 0x3F }
            }
        }
        let fast = decode(format, bytes)
        let reference = bytes.withUnsafeBytes { source in
            (0 ..< fast.count).map { format.referenceValue(at: $0, in: source.baseAddress!) }
        }
        #expect(zip(fast, reference).allSatisfy { $0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN) })
    }

    @Test(arguments: [(BlockFormat.q8_0, Float(1) / 127), (.q4_0, 1 / 4), (.q4_1, 1 / 15)])
    func quantizingThenDequantizingStaysWithinTheQuantizersError(format: BlockFormat, relativeStep: Float) {
        var generator = SeededGenerator(seed: 11)
        let values = (0 ..< 256).map { _ in Float.random(in: -2 ... 2, using: &generator) }
        var bytes = [UInt8](repeating: 0, count: 8 * format.bytesPerBlock)
        values.withUnsafeBufferPointer { source in
            bytes.withUnsafeMutableBytes { format.quantize(source.baseAddress!, blocks: 8, into: $0.baseAddress!) }
        }
        let decoded = decode(format, bytes)
        for block in 0 ..< 8 {
            let slice = values[block * 32 ..< block * 32 + 32]
            let range = format == .q4_1 ? slice.max()! - slice.min()! : slice.map(abs).max()!
            let tolerance = range * relativeStep * 0.5 * 1.01 + 1e-3 * range
            for i in block * 32 ..< block * 32 + 32 {
                #expect(abs(decoded[i] - values[i]) <= tolerance, "element \(i)")
            }
        }
    }

    @Test func q8_0RoundsLikeGgml() {
        // max |x| = 127 → d = 1; 2.5 rounds away from zero to 3, −2.5 to −3.
        var values = [Float](repeating: 0, count: 32)
        values[0] = 127; values[1] = 2.5; values[2] = -2.5; values[3] = 0.49
        var bytes = [UInt8](repeating: 0, count: 34)
        values.withUnsafeBufferPointer { source in
            bytes.withUnsafeMutableBytes { BlockFormat.q8_0.quantize(source.baseAddress!, blocks: 1, into: $0.baseAddress!) }
        }
        #expect(Array(decode(.q8_0, bytes).prefix(4)) == [127, 3, -3, 0])
    }

    @Test func quantizingNaNOrInfinityDoesNotTrap() {
        let values: [Float] = [.nan, .infinity, -.infinity] + [Float](repeating: 1, count: 29)
        for format in BlockFormat.allCases where format.elementsPerBlock == 32 {
            var bytes = [UInt8](repeating: 0, count: format.bytesPerBlock)
            values.withUnsafeBufferPointer { source in
                bytes.withUnsafeMutableBytes { format.quantize(source.baseAddress!, blocks: 1, into: $0.baseAddress!) }
            }
        }
    }
}
