// The K-quant block formats, and the 32-value formats their mixes fall back to, against the `gguf`
// package's dequantizer (Tests/Fixtures/kquants/blocks, written by
// scripts/fixtures/make_kquant_fixtures.py), bit for bit, through BlockFormat and through a GGUF
// file; Q4_0, Q5_0 and IQ4_NL rewritten as Q8_0 blocks; and Flora's plain encoders' round trip.
import FloraFormats
import FloraTensor
import FloraTestSupport
import Testing

@Suite struct KQuantBlockTests {
    @Test(arguments: KQuantFixtures.formats + KQuantFixtures.fallbackFormats)
    func bothDecodersGiveTheGGUFPackagesValuesBitForBit(format: BlockFormat) throws {
        let reference = try KQuantFixtures.referenceBlocks(format)
        let blocks = reference.blocks.count / format.bytesPerBlock
        #expect(blocks == 40 && reference.values.count == blocks * format.elementsPerBlock)
        var fast = [Float](repeating: .nan, count: reference.values.count)
        reference.blocks.withUnsafeBytes { source in
            fast.withUnsafeMutableBufferPointer { format.dequantize(source.baseAddress!, blocks: blocks, into: $0.baseAddress!) }
        }
        let naive = reference.blocks.withUnsafeBytes { source in
            (0 ..< fast.count).map { format.referenceValue(at: $0, in: source.baseAddress!) }
        }
        let expected = reference.values.map(\.bitPattern)
        let firstFast = zip(fast, reference.values).enumerated().first { $0.element.0.bitPattern != $0.element.1.bitPattern }
        #expect(fast.map(\.bitPattern) == expected, "first difference: \(String(describing: firstFast))")
        #expect(naive.map(\.bitPattern) == expected)
        // The fixture covers signed zeros (d = ±0) as well as ordinary values.
        #expect(reference.values.contains { $0 == 0 && $0.sign == .minus })
    }

    @Test(arguments: KQuantFixtures.formats + KQuantFixtures.fallbackFormats)
    func aQuantizedTensorReadsBackFromAGGUFFileAsTheReferenceValues(format: BlockFormat) throws {
        let reference = try KQuantFixtures.referenceBlocks(format)
        let type = try #require(GGUFType.allCases.first { $0.blockFormat == format })
        var writer = GGUFWriter()
        // 40 blocks: 20 rows of 512 (K-quants) or of 64 values.
        let width = format.elementsPerBlock == 256 ? 512 : 64, height = reference.values.count / width
        try writer.addRawTensor("blk.0.ffn_up.weight", dimensions: [width, height], type: type, bytes: reference.blocks)
        let file = try GGUFFile(bytes: try writer.serialized(), name: "k.gguf")
        let tensor = try file.tensor("blk.0.ffn_up.weight")
        #expect(tensor.shape == [height, width])
        #expect(tensor.toArray().map(\.bitPattern) == reference.values.map(\.bitPattern))
    }

    @Test(arguments: [BlockFormat.q4_0, .q5_0, .iq4_nl])
    func formatsOfIntegerCodesBecomeQ8_0BlocksWithTheSameValues(format: BlockFormat) throws {
        #expect(format.panelFormat == .q8_0)
        let reference = try KQuantFixtures.referenceBlocks(format)
        let blocks = reference.values.count / 32
        var transcoded = [UInt8](repeating: 0, count: blocks * 34)
        reference.blocks.withUnsafeBytes { source in
            transcoded.withUnsafeMutableBytes { format.transcodeToQ8_0(source.baseAddress!, blocks: blocks, into: $0.baseAddress!) }
        }
        var decoded = [Float](repeating: .nan, count: reference.values.count)
        transcoded.withUnsafeBytes { source in
            decoded.withUnsafeMutableBufferPointer { BlockFormat.q8_0.dequantize(source.baseAddress!, blocks: blocks, into: $0.baseAddress!) }
        }
        #expect(decoded.map(\.bitPattern) == reference.values.map(\.bitPattern))
    }

    /// RMS error of the plain encoder relative to the RMS of Gaussian weights: about what the
    /// format's bits allow (ggml's searching quantizer does somewhat better).
    @Test(arguments: [(BlockFormat.q2_K, 0.45), (.q3_K, 0.25), (.q4_K, 0.12), (.q5_K, 0.06), (.q6_K, 0.03),
                      (.q5_0, 0.06), (.q5_1, 0.05), (.iq4_nl, 0.12)])
    func quantizingThenDequantizingStaysWithinTheFormatsPrecision(format: BlockFormat, relativeRMS: Double) throws {
        var generator = SeededGenerator(seed: 21)
        let count = 16 * 256, blocks = count / format.elementsPerBlock
        let values = (0 ..< count).map { _ in Float(generator.nextGaussian()) * 0.02 }
        var bytes = [UInt8](repeating: 0, count: blocks * format.bytesPerBlock)
        values.withUnsafeBufferPointer { source in
            bytes.withUnsafeMutableBytes { format.quantize(source.baseAddress!, blocks: blocks, into: $0.baseAddress!) }
        }
        var decoded = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { source in
            decoded.withUnsafeMutableBufferPointer { format.dequantize(source.baseAddress!, blocks: blocks, into: $0.baseAddress!) }
        }
        let error = zip(decoded, values).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +)
        let norm = values.map { Double($0) * Double($0) }.reduce(0, +)
        #expect((error / norm).squareRoot() < relativeRMS)
    }

    @Test func theWriterEncodesKQuantTensorsThatReadBackClose() throws {
        var generator = SeededGenerator(seed: 3)
        let original = Tensor(shape: [4, 512], values: (0 ..< 2048).map { _ in Float(generator.nextGaussian()) })
        var writer = GGUFWriter()
        try writer.addTensor("w", original, type: .q6_K)
        let file = try GGUFFile(bytes: try writer.serialized())
        #expect(try file.tensorInfo("w").type == .q6_K)
        let loaded = try file.tensor("w").toArray()
        let worst = zip(loaded, original.toArray()).map { abs($0 - $1) }.max() ?? 0
        #expect(worst < 0.1)
    }
}
