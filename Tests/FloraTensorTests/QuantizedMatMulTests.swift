import FloraTensor
import Testing

/// A random weight quantized to `format`: its blocks, and those blocks dequantized (the fp32
/// weight the quantized products must reproduce).
struct QuantizedWeight {
    let blocks: [UInt8]
    let dequantized: Tensor  // [outputs, inputs]

    init(outputs: Int, inputs: Int, format: BlockFormat, seed: UInt64) {
        var random = TestRandom(seed: seed)
        let weight = random.tensor([outputs, inputs])
        let blockCount = outputs * inputs / 32
        var blocks = [UInt8](repeating: 0, count: blockCount * format.bytesPerBlock)
        blocks.withUnsafeMutableBytes { format.quantize(weight.pointer, blocks: blockCount, into: $0.baseAddress!) }
        let dequantized = Tensor(zeros: [outputs, inputs])
        blocks.withUnsafeBytes { format.dequantize($0.baseAddress!, blocks: blockCount, into: dequantized.pointer) }
        self.blocks = blocks
        self.dequantized = dequantized
    }

    func packed(_ format: BlockFormat, sourceRow: (Int) -> Int = { $0 }, products: QuantizedProducts = .exact) throws -> PackedMatrix {
        let shape = dequantized.shape
        return try blocks.withUnsafeBytes {
            try PackedMatrix(quantized: format, blocks: $0, outputs: shape[0], inputs: shape[1], sourceRow: sourceRow, products: products)
        }
    }
}

private let formats: [BlockFormat] = [.q8_0, .q4_1]
private let rowCounts = [1, 2, 3, 7, 8, 9, 16, 33, 128]
/// SmolLM2-135M's q/o, gate/up and down shapes, and two with a ragged last panel.
private let shapes: [(outputs: Int, inputs: Int)] = [(576, 576), (1536, 576), (576, 1536), (70, 64), (1000, 96)]

@Suite struct QuantizedMatMulTests {
    @Test(arguments: formats, shapes)
    func quantizedPanelsUnpackToTheDequantizedWeightExactly(format: BlockFormat, shape: (outputs: Int, inputs: Int)) throws {
        let weight = QuantizedWeight(outputs: shape.outputs, inputs: shape.inputs, format: format, seed: UInt64(shape.outputs))
        let packed = try weight.packed(format)
        #expect(packed.format == format)
        #expect(packed.unpacked().toArray() == weight.dequantized.toArray())
        #expect(packed.dequantized().unpacked().toArray() == weight.dequantized.toArray())
    }

    @Test(arguments: formats, rowCounts)
    func theQuantizedProductEqualsTheProductWithTheDequantizedWeight(format: BlockFormat, rows: Int) throws {
        for shape in shapes {
            let weight = QuantizedWeight(outputs: shape.outputs, inputs: shape.inputs, format: format, seed: UInt64(rows * 7 + shape.inputs))
            var random = TestRandom(seed: UInt64(rows))
            let x = random.tensor([rows, shape.inputs])
            let expected = Tensor(zeros: [rows, shape.outputs])
            MatMulReference.multiply(
                x.pointer, rows: rows, weight: weight.dequantized.pointer, outputs: shape.outputs, inputs: shape.inputs, into: expected.pointer)
            let fp32 = Tensor(zeros: [rows, shape.outputs])
            MatMul.multiply(x.pointer, rows: rows, PackedMatrix(weight.dequantized), into: fp32.pointer)
            let packed = try weight.packed(format)
            for parallelism in [Parallelism.serial, .parts(2), .automatic] {
                let y = Tensor(zeros: [rows, shape.outputs])
                MatMul.multiply(x.pointer, rows: rows, packed, into: y.pointer, parallelism: parallelism)
                #expect(relativeError(y, expected) < 1e-5, "\(shape) \(parallelism)")
                #expect(relativeError(y, fp32) < 1e-5, "\(shape) \(parallelism)")
            }
        }
    }

    @Test(arguments: formats)
    func everyRowGetsTheBitsOfTheFP32ProductWhateverTheBatch(format: BlockFormat) throws {
        let shape = (outputs: 200, inputs: 160)
        let weight = QuantizedWeight(outputs: shape.outputs, inputs: shape.inputs, format: format, seed: 77)
        let packed = try weight.packed(format)
        let fp32 = PackedMatrix(weight.dequantized)
        var random = TestRandom(seed: 78)
        let x = random.tensor([13, shape.inputs])
        let single = Tensor(zeros: [1, shape.outputs])
        for rows in 1...13 {
            let y = Tensor(zeros: [rows, shape.outputs])
            MatMul.multiply(x.pointer, rows: rows, packed, into: y.pointer)
            let expected = Tensor(zeros: [rows, shape.outputs])
            MatMul.multiply(x.pointer, rows: rows, fp32, into: expected.pointer)
            #expect(y.toArray() == expected.toArray(), "\(rows) rows")
            for r in 0..<rows {
                MatMul.multiply(x.pointer + r * shape.inputs, rows: 1, packed, into: single.pointer)
                #expect(Array(y.toArray()[r * shape.outputs ..< (r + 1) * shape.outputs]) == single.toArray(), "row \(r) of \(rows)")
            }
        }
    }

    @Test(arguments: formats)
    func theFusedExpandedProductWorksOnQuantizedPanels(format: BlockFormat) throws {
        for (tokens, ranks) in [(1, [1]), (3, [0, 2]), (8, [4, 0, 1, 3]), (17, [9])] {
            for shape in [(outputs: 576, inputs: 576), (outputs: 70, inputs: 64)] {
                var random = TestRandom(seed: UInt64(tokens * 31 + shape.outputs))
                let rows = ExpandedBatch(tokens: tokens, ranks: ranks, outputs: shape.outputs, inputs: shape.inputs, random: &random)
                let x = random.tensor([tokens, shape.inputs])
                let weight = QuantizedWeight(outputs: shape.outputs, inputs: shape.inputs, format: format, seed: UInt64(tokens))
                let initial = random.tensor([tokens, shape.outputs])
                let expected = copy(initial)
                MatMulReference.multiplyExpanded(
                    x.pointer, rows.expansion, weight: weight.dequantized.pointer, outputs: shape.outputs, inputs: shape.inputs,
                    into: expected.pointer)
                let packed = try weight.packed(format)
                for parallelism in [Parallelism.serial, .parts(2)] {
                    let y = copy(initial)
                    MatMul.multiplyExpanded(x.pointer, rows.expansion, packed, into: y.pointer, parallelism: parallelism)
                    #expect(relativeError(y, expected) < 1e-5, "\(tokens) tokens, \(shape), \(parallelism)")
                }
            }
        }
    }

    @Test(arguments: formats)
    func theTransposedProductWorksOnQuantizedPanels(format: BlockFormat) throws {
        for rows in [1, 5, 32] {
            for shape in [(outputs: 576, inputs: 576), (outputs: 70, inputs: 64)] {
                let weight = QuantizedWeight(outputs: shape.outputs, inputs: shape.inputs, format: format, seed: UInt64(rows + 3))
                var random = TestRandom(seed: UInt64(rows * 13))
                let dy = random.tensor([rows, shape.outputs])
                let expected = Tensor(zeros: [rows, shape.inputs])
                MatMulReference.multiplyTransposedWeight(
                    dy.pointer, rows: rows, weight: weight.dequantized.pointer, outputs: shape.outputs, inputs: shape.inputs,
                    into: expected.pointer)
                let dx = Tensor(zeros: [rows, shape.inputs])
                MatMul.multiplyTransposedWeight(dy.pointer, rows: rows, try weight.packed(format), into: dx.pointer)
                #expect(relativeError(dx, expected) < 1e-5, "\(rows) rows, \(shape)")
            }
        }
    }

    @Test(arguments: formats)
    func aRowPermutationMovesWholeRows(format: BlockFormat) throws {
        let weight = QuantizedWeight(outputs: 40, inputs: 64, format: format, seed: 5)
        let permuted = try weight.packed(format, sourceRow: { (($0 * 7) % 40) }).unpacked()
        for j in 0..<40 {
            let expected = Array(weight.dequantized.toArray()[((j * 7) % 40) * 64 ..< ((j * 7) % 40 + 1) * 64])
            #expect(Array(permuted.toArray()[j * 64 ..< (j + 1) * 64]) == expected, "row \(j)")
        }
    }

    @Test(arguments: [BlockFormat.f32, .q8_0, .q4_1])
    func copyingARowGivesTheUnpackedRow(format: BlockFormat) throws {
        let weight = QuantizedWeight(outputs: 70, inputs: 96, format: format == .f32 ? .q8_0 : format, seed: 9)
        let packed = format == .f32 ? PackedMatrix(weight.dequantized) : try weight.packed(format)
        let unpacked = packed.unpacked().toArray()
        let row = Tensor(zeros: [96])
        for j in [0, 1, 15, 16, 17, 31, 32, 69] {
            packed.copyRow(j, into: row.pointer)
            #expect(row.toArray() == Array(unpacked[j * 96 ..< (j + 1) * 96]), "row \(j)")
        }
    }

    @Test func quantizedPackingRefusesWhatItCannotHold() {
        let bytes = [UInt8](repeating: 0, count: 34 * 4)
        bytes.withUnsafeBytes { raw in
            #expect(throws: PackedMatrixError.self) { try PackedMatrix(quantized: .q4_0, blocks: raw, outputs: 4, inputs: 32) }
            #expect(throws: PackedMatrixError.self) { try PackedMatrix(quantized: .q8_0, blocks: raw, outputs: 4, inputs: 40) }
            #expect(throws: PackedMatrixError.self) { try PackedMatrix(quantized: .q8_0, blocks: raw, outputs: 3, inputs: 32) }
            #expect(throws: PackedMatrixError.self) {
                try PackedMatrix(quantized: .q8_0, blocks: raw, outputs: 4, inputs: 32, sourceRow: { $0 + 1 })
            }
            #expect((try? PackedMatrix(quantized: .q8_0, blocks: raw, outputs: 4, inputs: 32)) != nil)
        }
    }
}
