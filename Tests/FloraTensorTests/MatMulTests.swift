import FloraTensor
import Testing

/// Output × input shapes: multiples of the 32-column panel and not, odd k, k = 1, k = 0.
private let weightShapes: [(outputs: Int, inputs: Int)] = [(1, 1), (5, 0), (31, 3), (32, 1), (33, 17), (100, 64), (192, 129), (70, 576)]
private let rowCounts = [1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 33]

@Suite struct MatMulTests {
    @Test(arguments: rowCounts, weightShapes)
    func thePackedProductMatchesTheReference(rows: Int, shape: (outputs: Int, inputs: Int)) {
        var random = TestRandom(seed: UInt64(rows * 7919 + shape.outputs * 31 + shape.inputs))
        let x = random.tensor([rows, shape.inputs])
        let weight = random.tensor([shape.outputs, shape.inputs])
        let expected = Tensor(zeros: [rows, shape.outputs])
        MatMulReference.multiply(x.pointer, rows: rows, weight: weight.pointer, outputs: shape.outputs, inputs: shape.inputs, into: expected.pointer)
        let packed = PackedMatrix(weight)
        for parallelism in [Parallelism.serial, .parts(2), .parts(3)] {
            let y = random.tensor([rows, shape.outputs])  // garbage that must be overwritten
            MatMul.multiply(x.pointer, rows: rows, packed, into: y.pointer, parallelism: parallelism)
            #expect(relativeError(y, expected) < 1e-5, "parallelism \(parallelism)")
        }
    }

    @Test(arguments: [1, 8, 32])
    func splittingOverThreadsGivesBitIdenticalResults(rows: Int) {
        var random = TestRandom(seed: UInt64(rows))
        let x = random.tensor([rows, 576])
        let packed = PackedMatrix(random.tensor([200, 576]))
        let serial = Tensor(zeros: [rows, 200])
        let split = Tensor(zeros: [rows, 200])
        MatMul.multiply(x.pointer, rows: rows, packed, into: serial.pointer, parallelism: .serial)
        MatMul.multiply(x.pointer, rows: rows, packed, into: split.pointer, parallelism: .parts(2))
        #expect(serial.toArray() == split.toArray())
    }

    @Test(arguments: [(1, 49152, 576), (32, 576, 576), (9, 576, 1536), (130, 192, 576)])
    func theModelShapesMatchTheReference(rows: Int, outputs: Int, inputs: Int) {
        var random = TestRandom(seed: UInt64(rows + outputs + inputs))
        let x = random.tensor([rows, inputs])
        let weight = random.tensor([outputs, inputs])
        let expected = Tensor(zeros: [rows, outputs])
        MatMulReference.multiply(x.pointer, rows: rows, weight: weight.pointer, outputs: outputs, inputs: inputs, into: expected.pointer)
        let y = Tensor(zeros: [rows, outputs])
        MatMul.multiply(x.pointer, rows: rows, PackedMatrix(weight), into: y.pointer)
        #expect(relativeError(y, expected) < 1e-5)
    }

    @Test func zeroRowsLeaveTheOutputUntouched() {
        var random = TestRandom(seed: 3)
        let packed = PackedMatrix(random.tensor([40, 8]))
        let y = Tensor(shape: [1, 40], values: Array(repeating: 5, count: 40))
        MatMul.multiply(random.tensor([1, 8]).pointer, rows: 0, packed, into: y.pointer)
        #expect(y.toArray() == Array(repeating: 5, count: 40))
    }

    @Test(arguments: rowCounts, weightShapes)
    func theTransposedWeightProductMatchesTheReference(rows: Int, shape: (outputs: Int, inputs: Int)) {
        var random = TestRandom(seed: UInt64(rows * 104_729 + shape.outputs * 17 + shape.inputs))
        let dy = random.tensor([rows, shape.outputs])
        let weight = random.tensor([shape.outputs, shape.inputs])
        let expected = Tensor(zeros: [rows, shape.inputs])
        MatMulReference.multiplyTransposedWeight(
            dy.pointer, rows: rows, weight: weight.pointer, outputs: shape.outputs, inputs: shape.inputs, into: expected.pointer)
        let packed = PackedMatrix(weight)
        for parallelism in [Parallelism.serial, .parts(2)] {
            let dx = random.tensor([rows, shape.inputs])
            MatMul.multiplyTransposedWeight(dy.pointer, rows: rows, packed, into: dx.pointer, parallelism: parallelism)
            #expect(relativeError(dx, expected) < 1e-5, "parallelism \(parallelism)")
        }
    }

    /// LoRA-like products: shrink (`outputs` = rank, long `inputs`) and expand (`inputs` = rank).
    @Test(arguments: [1, 3, 8, 13, 40], [(1, 576), (8, 576), (16, 33), (576, 1), (576, 8), (45, 64), (1536, 16)])
    func theUnpackedProductMatchesTheReference(rows: Int, shape: (outputs: Int, inputs: Int)) {
        var random = TestRandom(seed: UInt64(rows * 15_485_863 + shape.outputs * 13 + shape.inputs))
        let a = random.tensor([rows, shape.inputs])
        let b = random.tensor([shape.outputs, shape.inputs])
        let expected = Tensor(zeros: [rows, shape.outputs])
        MatMulReference.multiplyUnpacked(a.pointer, rows: rows, b.pointer, outputs: shape.outputs, inputs: shape.inputs, into: expected.pointer)
        for parallelism in [Parallelism.serial, .parts(2)] {
            let c = random.tensor([rows, shape.outputs])
            MatMul.multiplyUnpacked(
                a.pointer, rows: rows, b.pointer, outputs: shape.outputs, inputs: shape.inputs, into: c.pointer, parallelism: parallelism)
            #expect(relativeError(c, expected) < 1e-5, "parallelism \(parallelism)")
        }
    }
}
