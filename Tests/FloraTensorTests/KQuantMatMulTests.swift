// K-quant weights in packed panels against the fp32 products on their dequantized values, on
// every row-count path (1–4 rows in registers, 5+ rows through fp32 tiles) and ragged widths.
import FloraTensor
import FloraTestSupport
import Testing

/// Random valid K-quant blocks of a `[outputs, inputs]` weight and their dequantized values.
private struct KQuantWeight {
    let format: BlockFormat
    let blocks: [UInt8]
    let dequantized: Tensor  // [outputs, inputs]

    init(outputs: Int, inputs: Int, format: BlockFormat, seed: UInt64) {
        let count = outputs * inputs / 256
        self.format = format
        blocks = KQuantFixtures.randomBlocks(format, count: count, seed: seed)
        let dequantized = Tensor(zeros: [outputs, inputs])
        blocks.withUnsafeBytes { format.dequantize($0.baseAddress!, blocks: count, into: dequantized.pointer) }
        self.dequantized = dequantized
    }

    func packed(sourceRow: (Int) -> Int = { $0 }) throws -> PackedMatrix {
        let shape = dequantized.shape
        return try blocks.withUnsafeBytes {
            try PackedMatrix(quantized: format, blocks: $0, outputs: shape[0], inputs: shape[1], sourceRow: sourceRow)
        }
    }
}

private let formats = KQuantFixtures.formats
private let rowCounts = [1, 2, 3, 4, 5, 7, 8, 9, 16, 33, 128, 512]
/// Square and MLP-like shapes, ragged last panels (70, 33, 1000 outputs) and one super-block rows.
private let shapes: [(outputs: Int, inputs: Int)] = [(256, 256), (70, 256), (1000, 512), (33, 768), (576, 1536)]

@Suite struct KQuantMatMulTests {
    @Test(arguments: formats, shapes)
    func kQuantPanelsUnpackToTheDequantizedWeightExactly(format: BlockFormat, shape: (outputs: Int, inputs: Int)) throws {
        let weight = KQuantWeight(outputs: shape.outputs, inputs: shape.inputs, format: format, seed: UInt64(shape.outputs))
        let packed = try weight.packed()
        #expect(packed.format == format)
        let expected = weight.dequantized.toArray().map(\.bitPattern)
        #expect(packed.unpacked().toArray().map(\.bitPattern) == expected)
        #expect(packed.dequantized().unpacked().toArray().map(\.bitPattern) == expected)
    }

    @Test(arguments: formats, rowCounts)
    func theKQuantProductEqualsTheFP32ProductOnTheDequantizedWeight(format: BlockFormat, rows: Int) throws {
        for shape in shapes where rows <= 128 || shape.outputs * shape.inputs <= 256 * 1024 {
            let weight = KQuantWeight(outputs: shape.outputs, inputs: shape.inputs, format: format, seed: UInt64(rows * 7 + shape.inputs))
            var random = TestRandom(seed: UInt64(rows))
            let x = random.tensor([rows, shape.inputs])
            let expected = Tensor(zeros: [rows, shape.outputs])
            MatMulReference.multiply(
                x.pointer, rows: rows, weight: weight.dequantized.pointer, outputs: shape.outputs, inputs: shape.inputs, into: expected.pointer)
            let fp32 = Tensor(zeros: [rows, shape.outputs])
            MatMul.multiply(x.pointer, rows: rows, PackedMatrix(weight.dequantized), into: fp32.pointer)
            let packed = try weight.packed()
            for parallelism in [Parallelism.serial, .parts(2), .automatic] {
                let y = Tensor(zeros: [rows, shape.outputs])
                MatMul.multiply(x.pointer, rows: rows, packed, into: y.pointer, parallelism: parallelism)
                #expect(relativeError(y, expected) < 1e-5, "\(shape) \(parallelism)")
                #expect(y.toArray() == fp32.toArray(), "\(shape) \(parallelism): not the bits of the fp32 kernel")
            }
        }
    }

    @Test(arguments: formats)
    func everyRowGetsTheSameBitsWhateverTheBatch(format: BlockFormat) throws {
        let shape = (outputs: 200, inputs: 512)
        let weight = KQuantWeight(outputs: shape.outputs, inputs: shape.inputs, format: format, seed: 77)
        let packed = try weight.packed()
        var random = TestRandom(seed: 78)
        let x = random.tensor([13, shape.inputs])
        let single = Tensor(zeros: [1, shape.outputs])
        for rows in 1...13 {
            let y = Tensor(zeros: [rows, shape.outputs])
            MatMul.multiply(x.pointer, rows: rows, packed, into: y.pointer)
            for r in 0..<rows {
                MatMul.multiply(x.pointer + r * shape.inputs, rows: 1, packed, into: single.pointer)
                #expect(Array(y.toArray()[r * shape.outputs ..< (r + 1) * shape.outputs]) == single.toArray(), "row \(r) of \(rows)")
            }
        }
    }

    @Test(arguments: formats)
    func theFusedExpandedAndTransposedProductsWorkOnKQuantPanels(format: BlockFormat) throws {
        for (tokens, ranks) in [(1, [1]), (3, [0, 2]), (17, [9])] {
            let shape = (outputs: 70, inputs: 512)
            var random = TestRandom(seed: UInt64(tokens * 31))
            let rows = ExpandedBatch(tokens: tokens, ranks: ranks, outputs: shape.outputs, inputs: shape.inputs, random: &random)
            let x = random.tensor([tokens, shape.inputs])
            let weight = KQuantWeight(outputs: shape.outputs, inputs: shape.inputs, format: format, seed: UInt64(tokens))
            let initial = random.tensor([tokens, shape.outputs])
            let expected = copy(initial)
            MatMulReference.multiplyExpanded(
                x.pointer, rows.expansion, weight: weight.dequantized.pointer, outputs: shape.outputs, inputs: shape.inputs,
                into: expected.pointer)
            let packed = try weight.packed()
            let y = copy(initial)
            MatMul.multiplyExpanded(x.pointer, rows.expansion, packed, into: y.pointer)
            #expect(relativeError(y, expected) < 1e-5, "\(tokens) tokens")

            let dy = random.tensor([tokens, shape.outputs])
            let dxExpected = Tensor(zeros: [tokens, shape.inputs])
            MatMulReference.multiplyTransposedWeight(
                dy.pointer, rows: tokens, weight: weight.dequantized.pointer, outputs: shape.outputs, inputs: shape.inputs,
                into: dxExpected.pointer)
            let dx = Tensor(zeros: [tokens, shape.inputs])
            MatMul.multiplyTransposedWeight(dy.pointer, rows: tokens, packed, into: dx.pointer)
            #expect(relativeError(dx, dxExpected) < 1e-5, "\(tokens) rows, dx")
        }
    }

    @Test(arguments: formats)
    func aRowPermutationMovesWholeSuperBlockRows(format: BlockFormat) throws {
        let weight = KQuantWeight(outputs: 40, inputs: 512, format: format, seed: 5)
        let permuted = try weight.packed(sourceRow: { ($0 * 7) % 40 }).unpacked().toArray()
        let original = weight.dequantized.toArray()
        for j in 0..<40 {
            let from = (j * 7) % 40
            #expect(Array(permuted[j * 512 ..< (j + 1) * 512]) == Array(original[from * 512 ..< (from + 1) * 512]), "row \(j)")
        }
    }

    @Test(arguments: formats)
    func copyingARowGivesTheUnpackedRow(format: BlockFormat) throws {
        let weight = KQuantWeight(outputs: 70, inputs: 768, format: format, seed: 9)
        let packed = try weight.packed()
        let unpacked = packed.unpacked().toArray()
        let row = Tensor(zeros: [768])
        for j in [0, 1, 15, 16, 17, 31, 32, 69] {
            packed.copyRow(j, into: row.pointer)
            #expect(row.toArray().map(\.bitPattern) == unpacked[j * 768 ..< (j + 1) * 768].map(\.bitPattern), "row \(j)")
        }
    }

    @Test(arguments: formats)
    func packingRefusesRowsThatAreNotWholeSuperBlocks(format: BlockFormat) throws {
        let bytes = [UInt8](repeating: 0, count: 4 * format.bytesPerBlock)
        try bytes.withUnsafeBytes { raw in
            let error = #expect(throws: PackedMatrixError.self) { try PackedMatrix(quantized: format, blocks: raw, outputs: 8, inputs: 128) }
            #expect(error?.description.contains("super-blocks of 256") == true)
            #expect(error?.description.contains("8×128") == true)
            #expect(throws: PackedMatrixError.self) { try PackedMatrix(quantized: format, blocks: raw, outputs: 3, inputs: 256) }
            #expect(throws: PackedMatrixError.self) { try PackedMatrix(quantized: format, blocks: raw, outputs: 4, inputs: 256, sourceRow: { $0 + 1 }) }
            let whole = try PackedMatrix(quantized: format, blocks: raw, outputs: 4, inputs: 256)
            #expect(whole.outputs == 4)
        }
    }

    @Test func kQuantPanelsKeepAboutTheFilesBitsPerWeight() {
        let bits = formats.map { PackedMatrix.bytesPerWeight($0) * 8 }
        #expect(bits == [2.75, 3.625, 4.75, 5.75, 6.625])
        #expect(PackedMatrix.bytesPerWeight(.q4_1) * 8 == 6)
        #expect(PackedMatrix.bytesPerWeight(.f32) == 4)
    }
}
