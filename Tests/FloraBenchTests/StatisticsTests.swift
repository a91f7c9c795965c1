import FloraBench
import Testing

@Suite struct StatisticsTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var values: [Double]
        var q: Double
        var expected: Double
        var testDescription: String { "p\(q) of \(values.count) values" }
    }

    static let oneTo10 = (1...10).map(Double.init), oneTo100 = (1...100).map(Double.init)

    // Expected values are NumPy's np.percentile (linear interpolation).
    @Test(arguments: [
        Case(values: [1, 2, 3, 4], q: 50, expected: 2.5),
        Case(values: [4, 1, 3, 2], q: 50, expected: 2.5),
        Case(values: [1, 2, 3, 4, 5], q: 50, expected: 3),
        Case(values: oneTo10, q: 90, expected: 9.1),
        Case(values: oneTo100, q: 99, expected: 99.01),
        Case(values: oneTo100, q: 90, expected: 90.1),
        Case(values: [7], q: 99, expected: 7),
        Case(values: [3, 1], q: 0, expected: 1),
        Case(values: [3, 1], q: 100, expected: 3),
        Case(values: [10, 20, 30], q: 25, expected: 15),
    ])
    func percentilesInterpolateBetweenClosestRanks(_ c: Case) {
        #expect(abs(Statistics.percentile(c.values, c.q) - c.expected) < 1e-9)
    }

    @Test func anEmptySampleHasNoPercentile() {
        #expect(Statistics.percentile([], 50).isNaN)
        #expect(Statistics.median([]).isNaN)
    }

    @Test func mediansOfOddAndEvenCounts() {
        #expect(Statistics.median([5, 1, 3]) == 3)
        #expect(Statistics.median([5, 1, 3, 100]) == 4)
    }

    @Test func percentilesOfASample() {
        let p = Percentiles(of: Array(0...100).map(Double.init).reversed())
        #expect(p == Percentiles(p50: 50, p90: 90, p99: 99))
    }

    @Test func repeatsCombineByTheMedianOfEachPercentile() {
        let repeats = [Percentiles(p50: 1, p90: 10, p99: 100), Percentiles(p50: 3, p90: 30, p99: 300), Percentiles(p50: 2, p90: 99, p99: 0)]
        #expect(Percentiles.median(of: repeats) == Percentiles(p50: 2, p90: 30, p99: 100))
    }
}
