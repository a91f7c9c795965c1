// `flora bench latency`: requests arrive as a seeded Poisson process at a fixed rate (the fLoRA
// paper's section 5 setting); per method and rank, time to first token, inter-token latency
// and the paper's metric, seconds per output token (end-to-end latency ÷ output length).

import Foundation

public struct LatencyRow: Sendable, Equatable {
    public var method: BenchMethod
    public var rank: Int
    public var adapters: Int
    public var requests: Int
    /// Arrival rate, requests per second.
    public var rate: Double
    /// Seconds; each percentile is the median over repeats of that repeat's percentile.
    public var timeToFirstToken: Percentiles
    /// Seconds between tokens of a request, every gap of every request pooled.
    public var interTokenLatency: Percentiles
    /// Per request, end-to-end seconds ÷ output tokens.
    public var secondsPerOutputToken: Percentiles
    /// Median over repeats of this method's p50 seconds per output token over the base model's.
    public var ratioToBase: Double?

    public init(
        method: BenchMethod, rank: Int, adapters: Int, requests: Int, rate: Double, timeToFirstToken: Percentiles, interTokenLatency: Percentiles, secondsPerOutputToken: Percentiles, ratioToBase: Double?
    ) {
        self.method = method
        self.rank = rank
        self.adapters = adapters
        self.requests = requests
        self.rate = rate
        self.timeToFirstToken = timeToFirstToken
        self.interTokenLatency = interTokenLatency
        self.secondsPerOutputToken = secondsPerOutputToken
        self.ratioToBase = ratioToBase
    }

    public static let csvColumns = [
        "method", "rank", "adapters", "requests", "rate",
        "ttft_p50_s", "ttft_p90_s", "ttft_p99_s", "itl_p50_s", "itl_p90_s", "itl_p99_s",
        "s_per_token_p50", "s_per_token_p90", "s_per_token_p99", "ratio_to_base",
    ]

    public var csvCells: [String] {
        let p = { (x: Percentiles) in [x.p50, x.p90, x.p99].map { formatNumber($0, decimals: 5) } }
        return [method.rawValue, "\(rank)", "\(adapters)", "\(requests)", formatNumber(rate, decimals: 3)]
            + p(timeToFirstToken) + p(interTokenLatency) + p(secondsPerOutputToken) + [formatNumber(ratioToBase, decimals: 4)]
    }
}

public struct LatencyBenchmark {
    public let harness: ServingHarness
    /// `settings.workload.arrivalRate` must be set.
    public let settings: ServingBenchmarkSettings
    public let adapterDirectory: String?

    public init(harness: ServingHarness, settings: ServingBenchmarkSettings, adapterDirectory: String? = nil) {
        self.harness = harness
        self.settings = settings
        self.adapterDirectory = adapterDirectory
    }

    public func run(progress: (BenchProgress) -> Void = { _ in }) async throws -> [LatencyRow] {
        try settings.validate()
        guard let rate = settings.workload.arrivalRate else {
            throw BenchError.invalidArgument("the latency benchmark needs an arrival rate (requests per second)")
        }
        let workload = try Workload(spec: settings.workload, tokenIds: harness.promptTokenIds)
        let store = try AdapterStore(directory: adapterDirectory, seed: settings.workload.seed)
        defer { store.removeAll() }
        let blocks = settings.ranks.map { ServingBlock(rank: $0, workload: workload, label: "rank \($0)") }
        let measured = try await ServingDriver(harness: harness, store: store, settings: settings, arrivals: true)
            .run(blocks, progress: progress)
        return measured.flatMap { block in
            settings.methods.map { method in
                let runs = block.runs[method] ?? []
                return LatencyRow(
                    method: method, rank: block.block.rank, adapters: method == .base ? 0 : workload.distinctAdapters.count,
                    requests: workload.requests.count, rate: rate,
                    timeToFirstToken: .median(of: runs.map { Percentiles(of: $0.requests.map(\.timeToFirstToken)) }),
                    interTokenLatency: .median(of: runs.map { Percentiles(of: $0.requests.flatMap(\.interTokenLatencies)) }),
                    secondsPerOutputToken: .median(of: runs.map { Percentiles(of: $0.requests.map(\.secondsPerOutputToken)) }),
                    ratioToBase: block.medianRatioToBase(method) { Percentiles(of: $0.requests.map(\.secondsPerOutputToken)).p50 })
            }
        }
    }

    public static func table(_ rows: [LatencyRow]) -> ResultTable {
        ResultTable(columns: LatencyRow.csvColumns, rows: rows.map(\.csvCells))
    }

    /// Median seconds per output token against rank, one line per method, log-2 axes.
    public static func plot(_ rows: [LatencyRow], title: String) -> LogLogPlot {
        LogLogPlot(
            title: title, xLabel: "rank", yLabel: "seconds per output token (p50)",
            series: seriesByMethod(rows.map { ($0.method, Double($0.rank), $0.secondsPerOutputToken.p50) }))
    }

    /// Latency relative to the base model as a rank × method grid, and LoRA over fLoRA.
    public static func summary(_ rows: [LatencyRow]) -> String {
        let ranks = Array(Set(rows.map(\.rank))).sorted()
        let methods = BenchMethod.allCases.filter { m in rows.contains { $0.method == m } }
        func row(_ m: BenchMethod, _ r: Int) -> LatencyRow? { rows.first { $0.method == m && $0.rank == r } }
        var grid = ResultTable(columns: ["rank"] + methods.map(\.rawValue))
        for r in ranks { grid.rows.append(["\(r)"] + methods.map { formatNumber(row($0, r)?.ratioToBase, decimals: 2) }) }
        var text = "p50 seconds per output token relative to the base model (lower is better):\n" + grid.text()
        for lora in [BenchMethod.loraBMM, .loraSegmented] where methods.contains(.flora) && methods.contains(lora) {
            let ratios = ranks.compactMap { r -> String? in
                guard let f = row(.flora, r), let l = row(lora, r) else { return nil }
                return String(format: "r%d %.2f×", r, l.secondsPerOutputToken.p50 / f.secondsPerOutputToken.p50)
            }
            text += "\(lora.rawValue) latency ÷ fLoRA latency (p50 s/token): " + ratios.joined(separator: ", ") + "\n"
        }
        return text
    }
}
