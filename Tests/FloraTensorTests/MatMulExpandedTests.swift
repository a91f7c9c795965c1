import FloraTensor
import Testing

/// The rows of an fLoRA batch and the memory they point into, kept alive for one test.
/// Token t uses `ranks[t % ranks.count]` expanded rows: 0 means one unscaled row (no adapter);
/// a rank r gives r rows with factor 1/r whose input and output scales are, row by row in turn,
/// both set, input only, output only, or neither.
final class ExpandedBatch {
    let expansion: RowExpansion
    let scales: [Tensor]

    init(tokens: Int, ranks: [Int], outputs: Int, inputs: Int, random: inout TestRandom) {
        var inputRows: [Int32] = []
        var outputRows: [Int32] = []
        var inputScales: [UnsafePointer<Float>?] = []
        var outputScales: [UnsafePointer<Float>?] = []
        var factors: [Float] = []
        var scales: [Tensor] = []
        for t in 0..<tokens {
            let rank = ranks[t % ranks.count]
            for j in 0..<max(rank, 1) {
                inputRows.append(Int32((t * 5 + 1) % tokens))  // input row need not be the output row
                outputRows.append(Int32(t))
                factors.append(rank == 0 ? 1 : 1 / Float(rank))
                let a = random.tensor([inputs])
                let b = random.tensor([outputs])
                scales += [a, b]
                let kind = rank == 0 ? 3 : (t + j) % 4
                inputScales.append(kind == 0 || kind == 1 ? UnsafePointer(a.pointer) : nil)
                outputScales.append(kind == 0 || kind == 2 ? UnsafePointer(b.pointer) : nil)
            }
        }
        self.scales = scales
        let count = factors.count
        func store<T>(_ values: [T]) -> UnsafeMutablePointer<T> {
            let pointer = UnsafeMutablePointer<T>.allocate(capacity: count)
            pointer.initialize(from: values, count: count)
            return pointer
        }
        expansion = RowExpansion(
            count: count, inputRow: store(inputRows), inputScale: store(inputScales), outputRow: store(outputRows),
            outputScale: store(outputScales), factor: store(factors))
    }

    deinit {
        expansion.inputRow.deallocate()
        expansion.inputScale.deallocate()
        expansion.outputRow.deallocate()
        expansion.outputScale.deallocate()
        expansion.factor.deallocate()
    }
}

private let batches: [(tokens: Int, ranks: [Int])] = [(1, [1]), (1, [0]), (3, [0, 2]), (8, [4, 0, 1, 3]), (17, [9]), (5, [16, 0])]
private let shapes: [(outputs: Int, inputs: Int)] = [(33, 17), (64, 1), (100, 64), (576, 576)]

@Suite struct MatMulExpandedTests {
    @Test(arguments: batches, shapes)
    func theFusedExpandedProductMatchesTheReference(batch: (tokens: Int, ranks: [Int]), shape: (outputs: Int, inputs: Int)) {
        var random = TestRandom(seed: UInt64(batch.tokens * 1009 + batch.ranks.count * 101 + shape.outputs + shape.inputs))
        let rows = ExpandedBatch(tokens: batch.tokens, ranks: batch.ranks, outputs: shape.outputs, inputs: shape.inputs, random: &random)
        let x = random.tensor([batch.tokens, shape.inputs])
        let weight = random.tensor([shape.outputs, shape.inputs])
        let initial = random.tensor([batch.tokens, shape.outputs])  // the product adds into y
        let expected = copy(initial)
        MatMulReference.multiplyExpanded(
            x.pointer, rows.expansion, weight: weight.pointer, outputs: shape.outputs, inputs: shape.inputs, into: expected.pointer)
        let packed = PackedMatrix(weight)
        for parallelism in [Parallelism.serial, .parts(2), .automatic] {
            let y = copy(initial)
            MatMul.multiplyExpanded(x.pointer, rows.expansion, packed, into: y.pointer, parallelism: parallelism)
            #expect(relativeError(y, expected) < 1e-5, "parallelism \(parallelism)")
        }
    }

    @Test func anUnscaledExpandedRowIsThePlainProductAdded() {
        var random = TestRandom(seed: 11)
        let rows = ExpandedBatch(tokens: 6, ranks: [0], outputs: 40, inputs: 24, random: &random)
        let x = random.tensor([6, 24])
        let packed = PackedMatrix(random.tensor([40, 24]))
        let plain = Tensor(zeros: [6, 40])
        MatMul.multiply(x.pointer, rows: 6, packed, into: plain.pointer)
        let expanded = Tensor(zeros: [6, 40])
        MatMul.multiplyExpanded(x.pointer, rows.expansion, packed, into: expanded.pointer)
        let permuted = Tensor(zeros: [6, 40])  // output row t reads input row (5t + 1) mod 6
        for t in 0..<6 { (permuted.pointer + t * 40).update(from: plain.pointer + ((t * 5 + 1) % 6) * 40, count: 40) }
        #expect(expanded.toArray() == permuted.toArray())
    }
}
