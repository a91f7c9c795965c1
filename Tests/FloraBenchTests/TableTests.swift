import FloraBench
import Testing

@Suite struct TableTests {
    @Test func throughputCSVHasTheAgreedColumns() {
        let row = ThroughputRow(
            method: .loraBMM, rank: 8, adapters: 50, requests: 50, outputTokensPerSecond: 123.456,
            totalTokensPerSecond: 456.5, ratioToBase: 0.8123456)
        let csv = ThroughputBenchmark.table([row]).csv
        #expect(csv == "method,rank,adapters,requests,output_tokens_per_s,total_tokens_per_s,ratio_to_base\n"
            + "lora-bmm,8,50,50,123.46,456.50,0.8123\n")
    }

    @Test func methodsAreNamedAsAgreed() throws {
        #expect(BenchMethod.allCases.map(\.rawValue) == ["base", "flora", "lora-bmm", "lora-segmented", "ia3"])
        #expect(throws: BenchError.self) { try BenchMethod.list("flora,lora") }
        #expect(try BenchMethod.list(" ia3, base") == [.ia3, .base])
    }

    @Test func missingAndNonFiniteNumbersAreMarked() {
        #expect(formatNumber(nil) == "")
        #expect(formatNumber(.nan) == "nan")
        #expect(formatNumber(.infinity) == "nan")
        #expect(formatNumber(2, decimals: 1) == "2.0")
    }

    @Test func cellsWithCommasOrQuotesAreQuoted() {
        let table = ResultTable(columns: ["layer", "n"], rows: [["q, \"big\"", "1"]])
        #expect(table.csv == "layer,n\n\"q, \"\"big\"\"\",1\n")
    }

    @Test func latencyAndAdapterCountRowsMatchTheirHeaders() {
        let p = Percentiles(p50: 0.1, p90: 0.2, p99: 0.3)
        let latency = LatencyRow(
            method: .flora, rank: 4, adapters: 10, requests: 10, rate: 2, timeToFirstToken: p, interTokenLatency: p,
            secondsPerOutputToken: p, ratioToBase: nil)
        #expect(latency.csvCells.count == LatencyRow.csvColumns.count)
        #expect(latency.csvCells.last == "")
        let count = AdapterCountRow(
            method: .ia3, rank: 1, adapters: 64, distinctAdapters: 20, requests: 20, outputTokensPerSecond: 1,
            totalTokensPerSecond: 2, ratioToBase: 1)
        #expect(count.csvCells.count == AdapterCountRow.csvColumns.count)
        #expect(AdapterCountRow.csvColumns.starts(with: ["method", "rank", "adapters", "distinct_adapters"]))
    }

    @Test func theTextTableAlignsColumns() {
        let table = ResultTable(columns: ["method", "tok/s"], rows: [["base", "1.5"], ["lora-segmented", "100.25"]])
        let lines = table.text().split(separator: "\n").map(String.init)
        #expect(lines.count == 4)
        #expect(Set(lines.map(\.count)).count == 1)
        #expect(lines[2] == "base               1.5")
    }
}
