import FloraTensor
import Testing

private let formats: [BlockFormat] = [.q8_0, .q4_1]
/// 1–4 rows (decode), the tile edges, and prefill sizes up to 512.
private let rowCounts = [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 16, 33, 128, 512]
/// SmolLM2-135M's q/o, gate/up and down shapes, and odd ones with a ragged last panel.
private let shapes: [(outputs: Int, inputs: Int)] = [(576, 576), (1536, 576), (576, 1536), (70, 64), (1000, 96), (33, 32)]

/// The int8 products (MatMulInt8.swift) against their naive twin, Int8Reference. On a CPU without
/// the kernels `.int8` computes as `.exact`, and that is what is checked instead.
@Suite struct Int8MatMulTests {
    /// What `.int8` must give: the twin's bits with the kernels, the exact product without.
    private func expectedInt8(_ x: Tensor, rows: Int, _ weight: QuantizedWeight, _ format: BlockFormat) throws -> Tensor {
        let shape = weight.dequantized.shape
        let y = Tensor(zeros: [rows, shape[0]])
        if QuantizedProducts.int8KernelsAvailable {
            weight.blocks.withUnsafeBytes {
                Int8Reference.multiply(
                    x.pointer, rows: rows, blocks: $0.baseAddress!, format: format, outputs: shape[0], inputs: shape[1], into: y.pointer)
            }
        } else {
            MatMul.multiply(x.pointer, rows: rows, try weight.packed(format), into: y.pointer)
        }
        return y
    }

    @Test(arguments: formats, rowCounts)
    func theInt8ProductEqualsItsNaiveTwinBitForBit(format: BlockFormat, rows: Int) throws {
        for shape in rows >= 128 ? [shapes[0], shapes[4]] : shapes {
            let weight = QuantizedWeight(outputs: shape.outputs, inputs: shape.inputs, format: format, seed: UInt64(rows * 5 + shape.outputs))
            var random = TestRandom(seed: UInt64(rows * 3 + shape.inputs))
            let x = random.tensor([rows, shape.inputs])
            let expected = try expectedInt8(x, rows: rows, weight, format)
            let packed = try weight.packed(format, products: .int8)
            for parallelism in [Parallelism.serial, .parts(2), .automatic] {
                let y = Tensor(zeros: [rows, shape.outputs])
                MatMul.multiply(x.pointer, rows: rows, packed, into: y.pointer, parallelism: parallelism)
                #expect(y.toArray() == expected.toArray(), "\(shape), \(parallelism)")
            }
        }
    }

    @Test(arguments: formats)
    func int8ActivationsStayCloseToTheExactProduct(format: BlockFormat) throws {
        for shape in shapes {
            let weight = QuantizedWeight(outputs: shape.outputs, inputs: shape.inputs, format: format, seed: 11)
            var random = TestRandom(seed: 12)
            let x = random.tensor([9, shape.inputs])
            let exact = Tensor(zeros: [9, shape.outputs]), int8 = Tensor(zeros: [9, shape.outputs])
            MatMul.multiply(x.pointer, rows: 9, try weight.packed(format), into: exact.pointer)
            MatMul.multiply(x.pointer, rows: 9, try weight.packed(format, products: .int8), into: int8.pointer)
            // 8-bit activation codes: about 2⁻⁸ of each block's largest value, averaging out over a row.
            #expect(relativeError(int8, exact) < 1e-2, "\(shape)")
        }
    }

    @Test(arguments: formats)
    func everyRowGetsTheSameBitsWhateverTheBatch(format: BlockFormat) throws {
        let shape = (outputs: 200, inputs: 160)
        let weight = QuantizedWeight(outputs: shape.outputs, inputs: shape.inputs, format: format, seed: 77)
        let packed = try weight.packed(format, products: .int8)
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
    func theFusedExpandedProductQuantizesEachScaledRow(format: BlockFormat) throws {
        for (tokens, ranks) in [(1, [1]), (3, [0, 2]), (8, [4, 0, 1, 3]), (17, [9])] {
            let shape = (outputs: 576, inputs: 576)
            var random = TestRandom(seed: UInt64(tokens * 31))
            let rows = ExpandedBatch(tokens: tokens, ranks: ranks, outputs: shape.outputs, inputs: shape.inputs, random: &random)
            let x = random.tensor([tokens, shape.inputs])
            let weight = QuantizedWeight(outputs: shape.outputs, inputs: shape.inputs, format: format, seed: UInt64(tokens))
            // Each expanded row e is its scaled input row, quantized and multiplied like any row.
            let count = rows.expansion.count
            let scaled = Tensor(zeros: [count, shape.inputs])
            for e in 0..<count {
                let source = x.pointer + Int(rows.expansion.inputRow[e]) * shape.inputs
                for p in 0..<shape.inputs { scaled.pointer[e * shape.inputs + p] = source[p] * (rows.expansion.inputScale[e]?[p] ?? 1) }
            }
            let products = try expectedInt8(scaled, rows: count, weight, format)
            let initial = random.tensor([tokens, shape.outputs])
            let expected = copy(initial)
            for e in 0..<count {
                let target = expected.pointer + Int(rows.expansion.outputRow[e]) * shape.outputs
                let f = rows.expansion.factor[e]
                for j in 0..<shape.outputs {
                    let value = products.pointer[e * shape.outputs + j] * (rows.expansion.outputScale[e]?[j] ?? 1)
                    target[j] = target[j].addingProduct(f, value)
                }
            }
            let packed = try weight.packed(format, products: .int8)
            for parallelism in [Parallelism.serial, .parts(2)] {
                let y = copy(initial)
                MatMul.multiplyExpanded(x.pointer, rows.expansion, packed, into: y.pointer, parallelism: parallelism)
                #expect(relativeError(y, expected) < 1e-6, "\(tokens) tokens, \(parallelism)")
            }
        }
    }

    @Test func otherFormatsAndFP32PanelsComputeExactlyWhenAskedForInt8() throws {
        var random = TestRandom(seed: 3)
        let weightValues = random.tensor([64, 256])
        let x = random.tensor([5, 256])
        for format in [BlockFormat.q4_K, .q6_K] {
            let exact = try PackedMatrix(quantizing: weightValues.pointer, outputs: 64, inputs: 256, format: format)
            let int8 = try PackedMatrix(quantizing: weightValues.pointer, outputs: 64, inputs: 256, format: format, products: .int8)
            let a = Tensor(zeros: [5, 64]), b = Tensor(zeros: [5, 64])
            MatMul.multiply(x.pointer, rows: 5, exact, into: a.pointer)
            MatMul.multiply(x.pointer, rows: 5, int8, into: b.pointer)
            #expect(a.toArray() == b.toArray(), "\(format)")
        }
    }

    @Test func theProductsModeIsReadFromItsNameAndAnUnknownNameIsRefused() throws {
        #expect(try QuantizedProducts.choice("EXACT") == .exact)
        #expect(try QuantizedProducts.choice("int8") == .int8)
        #expect(try QuantizedProducts.choice("") == nil)
        #expect(try QuantizedProducts.choice(nil) == nil)
        let error = #expect(throws: UnknownQuantizedProducts.self) { try QuantizedProducts.choice("fp16") }
        #expect(error?.description.contains("'fp16'") == true && error?.description.contains("exact or int8") == true)
    }
}
