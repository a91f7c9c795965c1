import ArgumentParser
import FloraBench

extension Bench {
    struct Adapters: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Throughput against the number of distinct adapters the requests use, at one rank.")

        @OptionGroup var modelOptions: ModelOptions
        @OptionGroup var options: BenchServingOptions

        @Option(help: "The adapters' rank.")
        var rank: Int = 1

        @Option(name: .long, help: "Comma-separated pool sizes; a request draws its adapter from the pool (every adapter used once when the pool is no larger than the request set).")
        var adapterCounts: String = "1,8,64,512,4096"

        func validate() throws {
            if rank < 1 { throw ValidationError("--rank must be at least 1, got \(rank)") }
            _ = try parsePositiveIntegers(adapterCounts, option: "--adapter-counts")
        }

        func run() async throws {
            let counts = try parsePositiveIntegers(adapterCounts, option: "--adapter-counts")
            let settings = try options.settings(ranks: [rank], workload: options.workload)
            if counts.contains(where: { $0 > settings.workload.requestCount }) {
                print("note: pools larger than the \(settings.workload.requestCount) requests use \(settings.workload.requestCount) distinct adapters (raise --num-requests to use more)")
            }
            let harness = try options.harness(modelOptions: modelOptions, settings: settings)
            let benchmark = AdapterCountBenchmark(
                harness: harness, settings: settings, adapterCounts: counts, adapterDirectory: options.adapterCache)
            let rows = try await withProgressBar("adapters") { try await benchmark.run(progress: $0) }
            print(AdapterCountBenchmark.table(rows).text())
            try options.write(table: AdapterCountBenchmark.table(rows)) {
                AdapterCountBenchmark.plot(rows, title: "Throughput against distinct adapters, rank \(rank)")
            }
        }
    }
}
