import ArgumentParser
import FloraBench

extension Bench {
    struct Latency: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Latency against rank under Poisson arrivals: time to first token, inter-token latency, seconds per output token.")

        @OptionGroup var modelOptions: ModelOptions
        @OptionGroup var options: BenchServingOptions

        @Option(help: "Arrival rate, requests per second (Poisson, seeded).")
        var rate: Double = 1

        @Option(help: "Comma-separated adapter ranks.")
        var ranks: String = "1,2,4,8,16,32,64"

        @Option(help: "Adapters the requests draw from (default: every request its own).")
        var adapters: Int?

        func validate() throws {
            guard rate.isFinite, rate > 0 else { throw ValidationError("--rate must be a positive number of requests per second, got \(rate)") }
            if let adapters, adapters < 1 { throw ValidationError("--adapters must be at least 1, got \(adapters)") }
            _ = try parsePositiveIntegers(ranks, option: "--ranks")
        }

        func run() async throws {
            var workload = options.workload
            workload.adapterPoolSize = adapters
            workload.arrivalRate = rate
            let settings = try options.settings(ranks: try parsePositiveIntegers(ranks, option: "--ranks"), workload: workload)
            let harness = try options.harness(modelOptions: modelOptions, settings: settings)
            let benchmark = LatencyBenchmark(harness: harness, settings: settings, adapterDirectory: options.adapterCache)
            let rows = try await withProgressBar("latency") { try await benchmark.run(progress: $0) }
            print(LatencyBenchmark.table(rows).text())
            print(LatencyBenchmark.summary(rows))
            try options.write(table: LatencyBenchmark.table(rows)) {
                LatencyBenchmark.plot(rows, title: "Seconds per output token against rank at \(rate) requests/s")
            }
        }
    }
}
