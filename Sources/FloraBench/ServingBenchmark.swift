// The loop every serving benchmark shares: blocks (a rank, or a pool size), repeats, methods.
// Inside a block every repeat runs every method once, in an order rotated by the repeat, so that
// drift of a shared machine falls on all methods alike; figures are medians over repeats and
// ratios are taken against the base model of the same block and repeat.

import FloraAdapters
import FloraModel
import Foundation

/// What a serving benchmark runs.
public struct ServingBenchmarkSettings: Sendable {
    public var workload: WorkloadSpec
    public var methods: [BenchMethod]
    public var ranks: [Int]
    public var repeats: Int
    /// The modules every adapter changes; nil: the model's query and key projections
    /// (`AdapterTargetShapes.defaultTargets`).
    public var targets: [TargetModule]?
    public var engine: ServingEngineSettings
    /// Make every adapter resident before the clock starts.
    public var warmUp: Bool

    public init(
        workload: WorkloadSpec, methods: [BenchMethod] = BenchMethod.standard, ranks: [Int] = [1, 2, 4, 8, 16, 32, 64],
        repeats: Int = 3, targets: [TargetModule]? = nil, engine: ServingEngineSettings = ServingEngineSettings(),
        warmUp: Bool = true
    ) {
        self.workload = workload
        self.methods = methods
        self.ranks = ranks
        self.repeats = repeats
        self.targets = targets
        self.engine = engine
        self.warmUp = warmUp
    }

    public func validate() throws {
        try workload.validate()
        guard !methods.isEmpty else { throw BenchError.invalidArgument("no methods to measure") }
        guard Set(methods).count == methods.count else { throw BenchError.invalidArgument("a method is listed twice") }
        guard !ranks.isEmpty, ranks.allSatisfy({ $0 >= 1 }) else { throw BenchError.invalidArgument("ranks must be at least 1, got \(ranks)") }
        guard repeats >= 1 else { throw BenchError.invalidArgument("repeats must be at least 1, got \(repeats)") }
        guard targets?.isEmpty != true else { throw BenchError.invalidArgument("no target modules") }
    }
}

/// Where a benchmark is, for a progress bar.
public struct BenchProgress: Sendable {
    /// Runs finished and runs in all.
    public var completed: Int
    public var total: Int
    /// What is happening now.
    public var detail: String
}

/// One block of runs: a rank and a workload.
struct ServingBlock {
    var rank: Int
    var workload: Workload
    var label: String
}

/// The runs of one block: `runs[method][repeat]`.
struct BlockMeasurement {
    var block: ServingBlock
    var runs: [BenchMethod: [RunMeasurement]]

    /// Per repeat, `measure(method) / measure(base)`, then the median; nil without base runs.
    func medianRatioToBase(_ method: BenchMethod, _ measure: (RunMeasurement) -> Double) -> Double? {
        guard let base = runs[.base], let mine = runs[method], base.count == mine.count else { return nil }
        return Statistics.median(zip(mine, base).map { measure($0) / measure($1) })
    }

    func median(_ method: BenchMethod, _ measure: (RunMeasurement) -> Double) -> Double {
        Statistics.median((runs[method] ?? []).map(measure))
    }
}

/// Runs blocks of a serving benchmark on one model.
struct ServingDriver {
    let harness: ServingHarness
    let store: AdapterStore
    let settings: ServingBenchmarkSettings
    let arrivals: Bool

    func run(_ blocks: [ServingBlock], progress: (BenchProgress) -> Void) async throws -> [BlockMeasurement] {
        let shapes = harness.model.adapterShapes
        let targets = settings.targets ?? shapes.defaultTargets(for: .flora)
        let total = blocks.count * settings.repeats * settings.methods.count
        var completed = 0
        var results: [BlockMeasurement] = []
        for (b, block) in blocks.enumerated() {
            // The adapter folders of each kind this block needs.
            var paths: [AdapterKind: [String]] = [:]
            let needed = block.workload.distinctAdapters.count
            for kind in Set(settings.methods.compactMap(\.adapterKind)).sorted(by: { $0.rawValue < $1.rawValue }) {
                paths[kind] = try store.adapters(
                    kind: kind, rank: block.rank, targets: targets, shapes: shapes, count: needed, baseWeights: harness.model
                ) { written in
                    if written % 16 == 0 || written == needed {
                        progress(BenchProgress(completed: completed, total: total,
                                               detail: "\(block.label): adapters \(kind.rawValue) \(written)/\(needed)"))
                    }
                }
            }
            var runs: [BenchMethod: [RunMeasurement]] = [:]
            for repeatIndex in 0..<settings.repeats {
                let methods = settings.methods
                for m in 0..<methods.count {
                    let method = methods[(m + repeatIndex) % methods.count]
                    progress(BenchProgress(completed: completed, total: total,
                                           detail: "\(block.label) \(method.rawValue), repeat \(repeatIndex + 1)/\(settings.repeats)"))
                    let measured = try await harness.run(
                        block.workload, method: method, adapterPaths: method.adapterKind.flatMap { paths[$0] } ?? [],
                        engine: settings.engine, warmUp: settings.warmUp, arrivals: arrivals)
                    runs[method, default: []].append(measured)
                    completed += 1
                }
            }
            progress(BenchProgress(completed: completed, total: total, detail: "\(block.label) done"))
            results.append(BlockMeasurement(block: block, runs: runs))
            // Temporary adapter sets the next block does not share are removed at once (disk).
            let next = b + 1 < blocks.count ? blocks[b + 1].rank : nil
            for kind in paths.keys where next.map({ kind == .ia3 || kind == .road ? false : $0 != block.rank }) ?? true {
                store.removeSet(kind: kind, rank: block.rank, targets: targets, shapes: shapes)
            }
        }
        return results
    }
}
