import ArgumentParser
import FloraBench
import Foundation

extension Bench {
    struct Plot: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Draw the SVG plot of a CSV file that a benchmark wrote, without measuring again.")

        @Argument(help: "A CSV file written by flora bench throughput, latency, adapters or kernels.")
        var csv: String

        @Option(help: "The SVG file to write.")
        var out: String

        @Option(help: "The plot's title (default: one that names the benchmark).")
        var title: String?

        @Option(help: "kernels: the layer to draw (default: the widest).")
        var layer: String?

        func run() throws {
            guard let data = FileManager.default.contents(atPath: csv) else { throw ValidationError("cannot read \(csv)") }
            let table = try ResultTable(csv: String(decoding: data, as: UTF8.self), source: csv)
            var plot: LogLogPlot
            switch table.columns {
            case ThroughputRow.csvColumns:
                let rows = try ThroughputRow.rows(table, source: csv)
                plot = ThroughputBenchmark.plot(rows, title: title ?? "Throughput against rank, \(rows.first?.requests ?? 0) requests, each with its own adapter")
            case LatencyRow.csvColumns:
                let rows = try LatencyRow.rows(table, source: csv)
                plot = LatencyBenchmark.plot(rows, title: title ?? "Seconds per output token against rank at \(rows.first.map { "\($0.rate)" } ?? "?") requests/s")
            case AdapterCountRow.csvColumns:
                let rows = try AdapterCountRow.rows(table, source: csv)
                plot = AdapterCountBenchmark.plot(rows, title: title ?? "Throughput against distinct adapters, rank \(rows.first?.rank ?? 0)")
            case AdaptedLayerRow.csvColumns:
                let rows = try AdaptedLayerRow.rows(table, source: csv)
                guard let name = layer ?? rows.max(by: { $0.outputs * $0.inputs < $1.outputs * $1.inputs })?.layer else {
                    throw ValidationError("\(csv) has no rows")
                }
                guard rows.contains(where: { $0.layer == name }) else {
                    throw ValidationError("--layer: no rows for '\(name)' in \(csv); layers: \(Set(rows.map(\.layer)).sorted().joined(separator: ", "))")
                }
                plot = AdaptedLayerBenchmark.plot(rows, layer: name)
            default:
                throw ValidationError("\(csv): the columns \(table.columns.joined(separator: ",")) are not those of a flora bench CSV")
            }
            if let title { plot.title = title }
            try BenchServingOptions.writeFile(plot.svg, to: out, what: "--out")
            print("wrote \(out)")
        }
    }
}
