// `flora bench adapters`: throughput against the number of distinct adapters the requests use,
// at one rank (the fLoRA paper's claim that its cost does not depend on how many different
// adapters a batch holds; segmented LoRA's cost grows with the number of groups).

import Foundation

public struct AdapterCountRow: Sendable, Equatable {
    public var method: BenchMethod
    public var rank: Int
    /// Size of the pool the requests draw from (for the base model: of the block it ran in).
    public var adapters: Int
    /// Adapters the requests actually use (at most the number of requests).
    public var distinctAdapters: Int
    public var requests: Int
    public var outputTokensPerSecond: Double
    public var totalTokensPerSecond: Double
    public var ratioToBase: Double?

    public init(
        method: BenchMethod, rank: Int, adapters: Int, distinctAdapters: Int, requests: Int, outputTokensPerSecond: Double, totalTokensPerSecond: Double, ratioToBase: Double?
    ) {
        self.method = method
        self.rank = rank
        self.adapters = adapters
        self.distinctAdapters = distinctAdapters
        self.requests = requests
        self.outputTokensPerSecond = outputTokensPerSecond
        self.totalTokensPerSecond = totalTokensPerSecond
        self.ratioToBase = ratioToBase
    }

    public static let csvColumns = [
        "method", "rank", "adapters", "distinct_adapters", "requests", "output_tokens_per_s", "total_tokens_per_s", "ratio_to_base",
    ]

    public var csvCells: [String] {
        [method.rawValue, "\(rank)", "\(adapters)", "\(distinctAdapters)", "\(requests)",
         formatNumber(outputTokensPerSecond, decimals: 2), formatNumber(totalTokensPerSecond, decimals: 2),
         formatNumber(ratioToBase, decimals: 4)]
    }
}

public struct AdapterCountBenchmark {
    public let harness: ServingHarness
    /// `settings.ranks` must hold exactly the one rank to measure at.
    public let settings: ServingBenchmarkSettings
    public let adapterCounts: [Int]
    public let adapterDirectory: String?

    public init(harness: ServingHarness, settings: ServingBenchmarkSettings, adapterCounts: [Int], adapterDirectory: String? = nil) {
        self.harness = harness
        self.settings = settings
        self.adapterCounts = adapterCounts
        self.adapterDirectory = adapterDirectory
    }

    public func run(progress: (BenchProgress) -> Void = { _ in }) async throws -> [AdapterCountRow] {
        try settings.validate()
        guard settings.ranks.count == 1, let rank = settings.ranks.first else {
            throw BenchError.invalidArgument("the adapter-count benchmark runs at one rank, got \(settings.ranks)")
        }
        guard !adapterCounts.isEmpty, adapterCounts.allSatisfy({ $0 >= 1 }) else {
            throw BenchError.invalidArgument("adapter counts must be at least 1, got \(adapterCounts)")
        }
        let blocks = try adapterCounts.map { count in
            var spec = settings.workload
            spec.adapterPoolSize = count
            spec.arrivalRate = nil
            return ServingBlock(rank: rank, workload: try Workload(spec: spec, tokenIds: harness.promptTokenIds), label: "\(count) adapters")
        }
        let store = try AdapterStore(directory: adapterDirectory, seed: settings.workload.seed)
        defer { store.removeAll() }
        let measured = try await ServingDriver(harness: harness, store: store, settings: settings, arrivals: false)
            .run(blocks, progress: progress)
        return zip(adapterCounts, measured).flatMap { count, block in
            settings.methods.map { method in
                AdapterCountRow(
                    method: method, rank: rank, adapters: count,
                    distinctAdapters: method == .base ? 0 : block.block.workload.distinctAdapters.count,
                    requests: block.block.workload.requests.count,
                    outputTokensPerSecond: block.median(method, \.outputTokensPerSecond),
                    totalTokensPerSecond: block.median(method, \.totalTokensPerSecond),
                    ratioToBase: block.medianRatioToBase(method, \.totalTokensPerSecond))
            }
        }
    }

    public static func table(_ rows: [AdapterCountRow]) -> ResultTable {
        ResultTable(columns: AdapterCountRow.csvColumns, rows: rows.map(\.csvCells))
    }

    /// Output tokens per second against the pool size, one line per method (the base model at
    /// the pool size of the block it ran in), log-2 axes.
    public static func plot(_ rows: [AdapterCountRow], title: String) -> LogLogPlot {
        LogLogPlot(
            title: title, xLabel: "adapters in the pool", yLabel: "output tokens/s",
            series: seriesByMethod(rows.map { ($0.method, Double($0.adapters), $0.outputTokensPerSecond) }))
    }
}
