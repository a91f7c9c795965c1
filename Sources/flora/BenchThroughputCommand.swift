import ArgumentParser
import FloraBench

extension Bench {
    struct Throughput: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Throughput against rank: all requests at once, each with its adapter (the fLoRA paper's figure 2).")

        @OptionGroup var modelOptions: ModelOptions
        @OptionGroup var options: BenchServingOptions

        @Option(help: "Comma-separated adapter ranks.")
        var ranks: String = "1,2,4,8,16,32,64"

        @Option(help: "Adapters the requests draw from (default: every request its own).")
        var adapters: Int?

        func validate() throws {
            if let adapters, adapters < 1 { throw ValidationError("--adapters must be at least 1, got \(adapters)") }
            _ = try parsePositiveIntegers(ranks, option: "--ranks")
        }

        func run() async throws {
            var workload = options.workload
            workload.adapterPoolSize = adapters
            let settings = try options.settings(ranks: try parsePositiveIntegers(ranks, option: "--ranks"), workload: workload)
            let harness = try options.harness(modelOptions: modelOptions, settings: settings)
            let benchmark = ThroughputBenchmark(harness: harness, settings: settings, adapterDirectory: options.adapterCache)
            let rows = try await withProgressBar("throughput") { try await benchmark.run(progress: $0) }
            print(ThroughputBenchmark.table(rows).text())
            print(ThroughputBenchmark.summary(rows))
            let n = rows.first?.requests ?? 0
            try options.write(table: ThroughputBenchmark.table(rows)) {
                ThroughputBenchmark.plot(rows, title: "Throughput against rank, \(n) requests, each with its own adapter")
            }
        }
    }
}
