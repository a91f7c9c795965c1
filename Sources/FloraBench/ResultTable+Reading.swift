// Reading the CSV files the benchmarks write (RFC 4180), so that a plot can be drawn again, or
// differently, without measuring again (`flora bench plot`).

import Foundation

extension ResultTable {
    /// Parses CSV text: the first record names the columns; quoted cells may hold commas, line
    /// breaks and doubled quotes. Every record must have as many cells as the header.
    public init(csv text: String, source: String = "CSV") throws {
        let characters = Array(text)  // "\r\n" is one Character
        var records: [[String]] = []
        var record: [String] = [], cell = ""
        var quoted = false, afterQuote = false
        var i = 0
        while i < characters.count {
            let c = characters[i]
            i += 1
            if quoted {
                if c != "\"" {
                    cell.append(c)
                } else if i < characters.count, characters[i] == "\"" {
                    cell.append("\"")
                    i += 1
                } else {
                    quoted = false
                    afterQuote = true
                }
                continue
            }
            switch c {
            case "\"" where cell.isEmpty && !afterQuote:
                quoted = true
            case ",":
                record.append(cell)
                cell = ""
                afterQuote = false
            case "\n", "\r\n", "\r":
                record.append(cell)
                records.append(record)
                record = []
                cell = ""
                afterQuote = false
            default:
                guard !afterQuote else {
                    throw BenchError.invalidArgument("\(source), record \(records.count + 1): text after a closing quote")
                }
                cell.append(c)
            }
        }
        guard !quoted else { throw BenchError.invalidArgument("\(source): a quoted cell is not closed") }
        if !cell.isEmpty || !record.isEmpty { record.append(cell); records.append(record) }
        guard let header = records.first else { throw BenchError.invalidArgument("\(source): no header line") }
        for (i, r) in records.enumerated().dropFirst() where r.count != header.count {
            throw BenchError.invalidArgument("\(source), record \(i + 1): expected \(header.count) cells, found \(r.count)")
        }
        self.init(columns: header, rows: Array(records.dropFirst()))
    }

    /// Each row as typed cells by column name.
    func records(source: String) -> [CSVRecord] {
        rows.enumerated().map { CSVRecord(columns: columns, cells: $1, line: $0 + 2, source: source) }
    }
}

/// One CSV row with typed access by column name; errors name the file, the line and the column.
struct CSVRecord {
    let columns: [String]
    let cells: [String]
    let line: Int
    let source: String

    func string(_ column: String) throws -> String {
        guard let index = columns.firstIndex(of: column) else {
            throw BenchError.invalidArgument("\(source): no column '\(column)' (columns: \(columns.joined(separator: ",")))")
        }
        return cells[index]
    }

    func int(_ column: String) throws -> Int {
        let text = try string(column)
        guard let value = Int(text) else { throw bad(column, text, "an integer") }
        return value
    }

    func double(_ column: String) throws -> Double {
        let text = try string(column)
        if text == "nan" { return .nan }
        guard let value = Double(text) else { throw bad(column, text, "a number") }
        return value
    }

    /// Empty cells are absent values.
    func optionalDouble(_ column: String) throws -> Double? {
        try string(column).isEmpty ? nil : try double(column)
    }

    func method(_ column: String = "method") throws -> BenchMethod {
        let text = try string(column)
        guard let method = BenchMethod(rawValue: text) else { throw bad(column, text, "a method name") }
        return method
    }

    func percentiles(_ prefix: String, suffix: String = "") throws -> Percentiles {
        Percentiles(
            p50: try double("\(prefix)_p50\(suffix)"), p90: try double("\(prefix)_p90\(suffix)"),
            p99: try double("\(prefix)_p99\(suffix)"))
    }

    private func bad(_ column: String, _ text: String, _ expected: String) -> BenchError {
        .invalidArgument("\(source), line \(line), column \(column): expected \(expected), found '\(text)'")
    }
}

extension ThroughputRow {
    /// The rows of a CSV file written by `flora bench throughput`.
    public static func rows(_ table: ResultTable, source: String) throws -> [ThroughputRow] {
        try table.records(source: source).map { r in
            ThroughputRow(
                method: try r.method(), rank: try r.int("rank"), adapters: try r.int("adapters"), requests: try r.int("requests"),
                outputTokensPerSecond: try r.double("output_tokens_per_s"), totalTokensPerSecond: try r.double("total_tokens_per_s"),
                ratioToBase: try r.optionalDouble("ratio_to_base"))
        }
    }
}

extension LatencyRow {
    public static func rows(_ table: ResultTable, source: String) throws -> [LatencyRow] {
        try table.records(source: source).map { r in
            LatencyRow(
                method: try r.method(), rank: try r.int("rank"), adapters: try r.int("adapters"), requests: try r.int("requests"),
                rate: try r.double("rate"), timeToFirstToken: try r.percentiles("ttft", suffix: "_s"),
                interTokenLatency: try r.percentiles("itl", suffix: "_s"), secondsPerOutputToken: try r.percentiles("s_per_token"),
                ratioToBase: try r.optionalDouble("ratio_to_base"))
        }
    }
}

extension AdapterCountRow {
    public static func rows(_ table: ResultTable, source: String) throws -> [AdapterCountRow] {
        try table.records(source: source).map { r in
            AdapterCountRow(
                method: try r.method(), rank: try r.int("rank"), adapters: try r.int("adapters"),
                distinctAdapters: try r.int("distinct_adapters"), requests: try r.int("requests"),
                outputTokensPerSecond: try r.double("output_tokens_per_s"), totalTokensPerSecond: try r.double("total_tokens_per_s"),
                ratioToBase: try r.optionalDouble("ratio_to_base"))
        }
    }
}

extension AdaptedLayerRow {
    public static func rows(_ table: ResultTable, source: String) throws -> [AdaptedLayerRow] {
        try table.records(source: source).map { r in
            AdaptedLayerRow(
                layer: try r.string("layer"), outputs: try r.int("outputs"), inputs: try r.int("inputs"), tokens: try r.int("tokens"),
                method: try r.method(), rank: try r.int("rank"), secondsPerCall: try r.double("seconds_per_call"),
                baseGFLOPs: try r.double("base_gflops_per_s"), percentOfPeak: try r.double("percent_of_peak"),
                ratioToBase: try r.optionalDouble("ratio_to_base"))
        }
    }
}
