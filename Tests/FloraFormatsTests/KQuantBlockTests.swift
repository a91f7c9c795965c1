// The K-quant block formats against the `gguf` package's dequantizer (Tests/Fixtures/kquants/blocks,
// written by scripts/fixtures/make_kquant_fixtures.py), bit for bit, through BlockFormat and
// through a GGUF file; and Flora's plain K-quant encoder round trip.
import FloraFormats
import FloraTensor
import FloraTestSupport
import Testing

@Suite struct KQuantBlockTests {
    @Test(arguments: KQuantFixtures.formats)
    func bothDecodersGiveTheGGUFPackagesValuesBitForBit(format: BlockFormat) throws {
        let reference = try KQuantFixtures.referenceBlocks(format)
        let blocks = reference.blocks.count / format.bytesPerBlock
        #expect(blocks == 40 && reference.values.count == blocks * 256)
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

    @Test(arguments: KQuantFixtures.formats)
    func aKQuantTensorReadsBackFromAGGUFFileAsTheReferenceValues(format: BlockFormat) throws {
        let reference = try KQuantFixtures.referenceBlocks(format)
        let type = try #require(GGUFType.allCases.first { $0.blockFormat == format })
        var writer = GGUFWriter()
        try writer.addRawTensor("blk.0.ffn_up.weight", dimensions: [512, 20], type: type, bytes: reference.blocks)
        let file = try GGUFFile(bytes: try writer.serialized(), name: "k.gguf")
        let tensor = try file.tensor("blk.0.ffn_up.weight")
        #expect(tensor.shape == [20, 512])
        #expect(tensor.toArray().map(\.bitPattern) == reference.values.map(\.bitPattern))
    }

    /// RMS error of the plain encoder relative to the RMS of Gaussian weights: about what the
    /// format's bits allow (ggml's searching quantizer does somewhat better).
    @Test(arguments: [(BlockFormat.q2_K, 0.45), (.q3_K, 0.25), (.q4_K, 0.12), (.q5_K, 0.06), (.q6_K, 0.03)])
    func quantizingThenDequantizingStaysWithinTheFormatsPrecision(format: BlockFormat, relativeRMS: Double) throws {
        var generator = SeededGenerator(seed: 21)
        let count = 16 * 256
        let values = (0 ..< count).map { _ in Float(generator.nextGaussian()) * 0.02 }
        var bytes = [UInt8](repeating: 0, count: 16 * format.bytesPerBlock)
        values.withUnsafeBufferPointer { source in
            bytes.withUnsafeMutableBytes { format.quantize(source.baseAddress!, blocks: 16, into: $0.baseAddress!) }
        }
        var decoded = [Float](repeating: 0, count: count)
        bytes.withUnsafeBytes { source in
            decoded.withUnsafeMutableBufferPointer { format.dequantize(source.baseAddress!, blocks: 16, into: $0.baseAddress!) }
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
