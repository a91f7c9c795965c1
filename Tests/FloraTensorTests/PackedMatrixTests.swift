import FloraTensor
import Testing

@Suite struct PackedMatrixTests {
    @Test(arguments: [(1, 1), (31, 5), (32, 7), (33, 1), (70, 9), (192, 64)])
    func packingAndUnpackingGivesBackTheWeight(outputs: Int, inputs: Int) {
        var random = TestRandom(seed: UInt64(outputs * 1000 + inputs))
        let weight = random.tensor([outputs, inputs])
        let packed = PackedMatrix(weight)
        #expect(packed.outputs == outputs && packed.inputs == inputs)
        #expect(packed.panelCount == (outputs + 31) / 32)
        #expect(packed.unpacked().toArray() == weight.toArray())
    }

    @Test func packingFromRowsGivesTheSamePanelsAsPackingFromMemory() {
        var random = TestRandom(seed: 7)
        let weight = random.tensor([77, 13])
        var requested: [Range<Int>] = []
        let fromRows = PackedMatrix(outputs: 77, inputs: 13) { firstRow, rowCount, destination in
            requested.append(firstRow..<(firstRow + rowCount))
            destination.update(from: weight.pointer + firstRow * 13, count: rowCount * 13)
        }
        #expect(requested == [0..<32, 32..<64, 64..<77])
        #expect(fromRows.unpacked().toArray() == weight.toArray())
    }

    @Test func aPackerThatThrowsStopsThePacking() {
        struct Refused: Error {}
        #expect(throws: Refused.self) {
            _ = try PackedMatrix(outputs: 40, inputs: 4) { firstRow, _, _ in
                if firstRow > 0 { throw Refused() }
            }
        }
    }
}
