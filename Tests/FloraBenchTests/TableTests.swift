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
        #expect(BenchMethod.standard.map(\.rawValue) == ["base", "flora", "lora-bmm", "lora-segmented", "ia3", "dora", "road"])
        #expect(try BenchMethod.list("flora-expanded") == [.floraExpanded])
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

@Suite struct CSVReadingTests {
    @Test func writtenRowsReadBackTheSame() throws {
        let rows = [
            ThroughputRow(method: .base, rank: 1, adapters: 0, requests: 50, outputTokensPerSecond: 100, totalTokensPerSecond: 300, ratioToBase: 1),
            ThroughputRow(method: .flora, rank: 64, adapters: 50, requests: 50, outputTokensPerSecond: 20.25, totalTokensPerSecond: 60.5, ratioToBase: nil),
        ]
        let table = try ResultTable(csv: ThroughputBenchmark.table(rows).csv)
        #expect(try ThroughputRow.rows(table, source: "t.csv") == rows)
        let p = Percentiles(p50: 0.5, p90: 1.25, p99: 2)
        let latency = [LatencyRow(
            method: .loraSegmented, rank: 2, adapters: 9, requests: 9, rate: 4, timeToFirstToken: p, interTokenLatency: p,
            secondsPerOutputToken: p, ratioToBase: 1.5)]
        #expect(try LatencyRow.rows(try ResultTable(csv: LatencyBenchmark.table(latency).csv), source: "l.csv") == latency)
    }

    @Test func quotedCellsAndLineEndingsAreRead() throws {
        let table = try ResultTable(csv: "a,b\r\n\"x, \"\"y\"\"\",\"two\nlines\"\r\n,3")
        #expect(table.columns == ["a", "b"])
        #expect(table.rows == [["x, \"y\"", "two\nlines"], ["", "3"]])
        let original = ResultTable(columns: ["layer", "n"], rows: [["q, \"big\"", "1"], ["plain", ""]])
        #expect(try ResultTable(csv: original.csv) == original)
    }

    @Test func badFilesAreRefusedWithTheLine() throws {
        #expect(throws: BenchError.self) { try ResultTable(csv: "a,b\n1,2,3\n") }
        #expect(throws: BenchError.self) { try ResultTable(csv: "a\n\"open\n") }
        #expect(throws: BenchError.self) { try ResultTable(csv: "") }
        let table = try ResultTable(csv: ThroughputRow.csvColumns.joined(separator: ",") + "\nflora,two,1,1,1,1,1\n")
        do {
            _ = try ThroughputRow.rows(table, source: "t.csv")
            Issue.record("a rank of 'two' was accepted")
        } catch {
            #expect("\(error)".contains("t.csv, line 2, column rank"))
        }
    }
}
