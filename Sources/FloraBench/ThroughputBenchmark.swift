// `flora bench throughput`: the fLoRA paper's throughput against rank (its figure 2): every
// request submitted at once, each with its adapter; output and total tokens per second of each
// method at each rank, and their ratio to the base model measured in the same block.

import Foundation

public struct ThroughputRow: Sendable, Equatable {
    public var method: BenchMethod
    public var rank: Int
    /// Distinct adapters the requests use (0 for the base model).
    public var adapters: Int
    public var requests: Int
    /// Medians over repeats.
    public var outputTokensPerSecond: Double
    public var totalTokensPerSecond: Double
    /// Median over repeats of this method's throughput over the base model's in the same repeat.
    public var ratioToBase: Double?
    /// Median requests finished per second (not in the CSV): what `--rate` can approach.
    public var requestsPerSecond: Double?

    public init(
        method: BenchMethod, rank: Int, adapters: Int, requests: Int, outputTokensPerSecond: Double, totalTokensPerSecond: Double,
        ratioToBase: Double?, requestsPerSecond: Double? = nil
    ) {
        self.method = method
        self.rank = rank
        self.adapters = adapters
        self.requests = requests
        self.outputTokensPerSecond = outputTokensPerSecond
        self.totalTokensPerSecond = totalTokensPerSecond
        self.ratioToBase = ratioToBase
        self.requestsPerSecond = requestsPerSecond
    }

    public static let csvColumns = [
        "method", "rank", "adapters", "requests", "output_tokens_per_s", "total_tokens_per_s", "ratio_to_base",
    ]

    public var csvCells: [String] {
        [method.rawValue, "\(rank)", "\(adapters)", "\(requests)", formatNumber(outputTokensPerSecond, decimals: 2),
         formatNumber(totalTokensPerSecond, decimals: 2), formatNumber(ratioToBase, decimals: 4)]
    }
}

public struct ThroughputBenchmark {
    public let harness: ServingHarness
    public let settings: ServingBenchmarkSettings
    /// A folder to keep the generated adapters in (reused by later runs); nil: a temporary one.
    public let adapterDirectory: String?

    public init(harness: ServingHarness, settings: ServingBenchmarkSettings, adapterDirectory: String? = nil) {
        self.harness = harness
        self.settings = settings
        self.adapterDirectory = adapterDirectory
    }

    /// Rows by rank, then by method in the order of `settings.methods`.
    public func run(progress: (BenchProgress) -> Void = { _ in }) async throws -> [ThroughputRow] {
        try settings.validate()
        var spec = settings.workload
        spec.arrivalRate = nil
        let workload = try Workload(spec: spec, tokenIds: harness.promptTokenIds)
        let store = try AdapterStore(directory: adapterDirectory, seed: spec.seed)
        defer { store.removeAll() }
        let blocks = settings.ranks.map { ServingBlock(rank: $0, workload: workload, label: "rank \($0)") }
        let measured = try await ServingDriver(harness: harness, store: store, settings: settings, arrivals: false)
            .run(blocks, progress: progress)
        return measured.flatMap { block in
            settings.methods.map { method in
                ThroughputRow(
                    method: method, rank: block.block.rank, adapters: method == .base ? 0 : workload.distinctAdapters.count,
                    requests: workload.requests.count,
                    outputTokensPerSecond: block.median(method, \.outputTokensPerSecond),
                    totalTokensPerSecond: block.median(method, \.totalTokensPerSecond),
                    ratioToBase: block.medianRatioToBase(method, \.totalTokensPerSecond),
                    requestsPerSecond: block.median(method) { Double($0.requests.count) / $0.seconds })
            }
        }
    }

    public static func table(_ rows: [ThroughputRow]) -> ResultTable {
        ResultTable(columns: ThroughputRow.csvColumns, rows: rows.map(\.csvCells))
    }

    /// Output tokens per second against rank, one line per method, log-2 axes.
    public static func plot(_ rows: [ThroughputRow], title: String) -> LogLogPlot {
        LogLogPlot(
            title: title, xLabel: "rank", yLabel: "output tokens/s",
            series: seriesByMethod(rows.map { ($0.method, Double($0.rank), $0.outputTokensPerSecond) }))
    }

    /// Ratios to the base model as a rank × method grid, then fLoRA against each LoRA kernel
    /// and the first rank at which LoRA overtakes fLoRA.
    public static func summary(_ rows: [ThroughputRow]) -> String {
        let ranks = Array(Set(rows.map(\.rank))).sorted()
        let methods = BenchMethod.allCases.filter { m in rows.contains { $0.method == m } }
        func row(_ m: BenchMethod, _ r: Int) -> ThroughputRow? { rows.first { $0.method == m && $0.rank == r } }
        var grid = ResultTable(columns: ["rank"] + methods.map(\.rawValue))
        for r in ranks { grid.rows.append(["\(r)"] + methods.map { formatNumber(row($0, r)?.ratioToBase, decimals: 2) }) }
        var text = "Throughput relative to the base model (median of per-repeat ratios):\n" + grid.text()
        let baseRates = rows.filter { $0.method == .base }.compactMap(\.requestsPerSecond)
        if !baseRates.isEmpty {
            text += String(format: "The base model finished %.2f requests/s (median over ranks): a latency --rate near saturation.\n",
                           Statistics.median(baseRates))
        }
        for lora in [BenchMethod.loraBMM, .loraSegmented] where methods.contains(.flora) && methods.contains(lora) {
            let ratios = ranks.compactMap { r -> (Int, Double)? in
                guard let f = row(.flora, r), let l = row(lora, r) else { return nil }
                return (r, f.outputTokensPerSecond / l.outputTokensPerSecond)
            }
            text += "fLoRA ÷ \(lora.rawValue): " + ratios.map { String(format: "r%d %.2f×", $0.0, $0.1) }.joined(separator: ", ")
            if let crossover = ratios.first(where: { $0.1 < 1 }) {
                text += " — \(lora.rawValue) is faster from rank \(crossover.0)\n"
            } else {
                text += " — fLoRA is faster at every rank measured\n"
            }
        }
        return text
    }
}

/// Groups `(method, x, y)` points into one plot series per method, in `BenchMethod` order.
func seriesByMethod(_ points: [(BenchMethod, Double, Double)]) -> [LogLogPlot.Series] {
    BenchMethod.allCases.compactMap { method in
        let mine = points.filter { $0.0 == method }.map { (x: $0.1, y: $0.2) }.sorted { $0.x < $1.x }
        return mine.isEmpty ? nil : LogLogPlot.Series(name: method.rawValue, points: mine, style: .of(method))
    }
}
