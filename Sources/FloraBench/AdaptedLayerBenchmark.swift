// `flora bench kernels`, adapted-layer part: one linear layer alone, every token with its own
// adapter, through `AdapterBank.linear` — the serving benchmarks' cost at a single layer, at the
// loaded model's width and at the widths of larger models (where the fLoRA paper measured).

import Dispatch
import FloraAdapters
import FloraTensor
import Foundation

public struct AdaptedLayerRow: Sendable, Equatable {
    public var layer: String
    public var outputs: Int
    public var inputs: Int
    public var tokens: Int
    public var method: BenchMethod
    public var rank: Int
    /// Median seconds of one `linear` call over all tokens.
    public var secondsPerCall: Double
    /// The base product's flops (`2 · tokens · outputs · inputs`) per second: useful work.
    public var baseGFLOPs: Double
    public var percentOfPeak: Double
    /// The base layer's median time over this method's (its relative throughput).
    public var ratioToBase: Double?

    public init(
        layer: String, outputs: Int, inputs: Int, tokens: Int, method: BenchMethod, rank: Int, secondsPerCall: Double,
        baseGFLOPs: Double, percentOfPeak: Double, ratioToBase: Double?
    ) {
        self.layer = layer
        self.outputs = outputs
        self.inputs = inputs
        self.tokens = tokens
        self.method = method
        self.rank = rank
        self.secondsPerCall = secondsPerCall
        self.baseGFLOPs = baseGFLOPs
        self.percentOfPeak = percentOfPeak
        self.ratioToBase = ratioToBase
    }

    public var tokensPerSecond: Double { Double(tokens) / secondsPerCall }

    public static let csvColumns = [
        "layer", "outputs", "inputs", "tokens", "method", "rank", "seconds_per_call", "tokens_per_s",
        "base_gflops_per_s", "percent_of_peak", "ratio_to_base",
    ]

    public var csvCells: [String] {
        [layer, "\(outputs)", "\(inputs)", "\(tokens)", method.rawValue, "\(rank)", formatNumber(secondsPerCall, decimals: 7),
         formatNumber(tokensPerSecond, decimals: 1), formatNumber(baseGFLOPs, decimals: 2), formatNumber(percentOfPeak, decimals: 1),
         formatNumber(ratioToBase, decimals: 4)]
    }
}

public struct AdaptedLayerBenchmark: Sendable {
    public typealias Shape = KernelBenchmark.Shape

    /// q_proj of SmolLM2-135M, Llama-2-7B and StarCoder-15B (the fLoRA paper's model).
    public static let defaultShapes = [
        Shape(name: "576 (SmolLM2-135M q)", outputs: 576, inputs: 576),
        Shape(name: "4096 (Llama-2-7B q)", outputs: 4096, inputs: 4096),
        Shape(name: "6144 (StarCoder-15B q)", outputs: 6144, inputs: 6144),
    ]

    public var shapes: [Shape]
    public var tokens: Int
    public var methods: [BenchMethod]
    public var ranks: [Int]
    public var repeats: Int
    public var minimumRepeatSeconds: Double

    /// `quick` measures two widths and four ranks with short repeats.
    public init(quick: Bool) {
        shapes = quick ? Array(Self.defaultShapes.prefix(2)) : Self.defaultShapes
        tokens = 32
        methods = BenchMethod.standard
        ranks = quick ? [1, 4, 16, 64] : [1, 2, 4, 8, 16, 32, 64]
        repeats = quick ? 3 : 5
        minimumRepeatSeconds = quick ? 0.02 : 0.05
    }

    /// Per shape and rank, every method is timed once per repeat in turn (so drift falls on all);
    /// rows by shape, rank, then method. `peakGFLOPs` is the machine's FMA peak on all cores.
    public func run(peakGFLOPs: Double, progress: (BenchProgress) -> Void = { _ in }) throws -> [AdaptedLayerRow] {
        guard tokens >= 1, repeats >= 1, !methods.isEmpty, !ranks.isEmpty, ranks.allSatisfy({ $0 >= 1 }) else {
            throw BenchError.invalidArgument("the adapted-layer benchmark needs tokens, repeats, methods and ranks ≥ 1")
        }
        var rows: [AdaptedLayerRow] = []
        let total = shapes.count * ranks.count
        for (s, shape) in shapes.enumerated() {
            let targetShapes = try AdapterTargetShapes(layers: 1, inputs: [.qProj: shape.inputs], outputs: [.qProj: shape.outputs])
            let plainWeight = Tensor(random: [shape.outputs, shape.inputs], seed: 1)  // [outputs, inputs]
            let weight = PackedMatrix(plainWeight)
            let x = Tensor(random: [tokens, shape.inputs], seed: 2)     // [tokens, inputs]
            let y = Tensor(zeros: [tokens, shape.outputs])              // [tokens, outputs]
            var rankless: [BenchMethod: LayerSetup] = [:]               // base and IA3 do not depend on rank
            for (r, rank) in ranks.enumerated() {
                progress(BenchProgress(completed: s * ranks.count + r, total: total, detail: "\(shape.name), rank \(rank)"))
                var setups: [LayerSetup] = []
                for method in methods {
                    if let setup = rankless[method] {
                        setups.append(setup)
                        continue
                    }
                    let setup = try LayerSetup(
                        method: method, rank: rank, tokens: tokens, shapes: targetShapes, baseWeights: OneLayerWeights(qProj: plainWeight))
                    if !method.hasRank { rankless[method] = setup }
                    setups.append(setup)
                }
                var samples = [[Double]](repeating: [], count: methods.count)   // [method][repeat]
                for setup in setups { _ = time(setup, weight: weight, x: x, y: y, minimumSeconds: 0) }   // warm up
                for _ in 0..<repeats {
                    for (m, setup) in setups.enumerated() {
                        samples[m].append(time(setup, weight: weight, x: x, y: y, minimumSeconds: minimumRepeatSeconds))
                    }
                }
                let base = methods.firstIndex(of: .base).map { Statistics.median(samples[$0]) }
                for (m, method) in methods.enumerated() {
                    let seconds = Statistics.median(samples[m])
                    let gflops = 2 * Double(tokens * shape.outputs * shape.inputs) / seconds / 1e9
                    rows.append(AdaptedLayerRow(
                        layer: shape.name, outputs: shape.outputs, inputs: shape.inputs, tokens: tokens, method: method, rank: rank,
                        secondsPerCall: seconds, baseGFLOPs: gflops, percentOfPeak: 100 * gflops / peakGFLOPs,
                        ratioToBase: base.map { $0 / seconds }))
                }
            }
        }
        progress(BenchProgress(completed: total, total: total, detail: "done"))
        return rows
    }

    /// Seconds per call: calls repeated until `minimumSeconds` have passed (at least one).
    private func time(_ setup: LayerSetup, weight: PackedMatrix, x: Tensor, y: Tensor, minimumSeconds: Double) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        var calls = 0, elapsed = 0.0
        repeat {
            setup.slots.withUnsafeBufferPointer { slots in
                setup.bank.linear(
                    layer: 0, module: .qProj, weight: weight, bias: nil, input: x.pointer, tokens: tokens,
                    slots: slots.baseAddress!, output: y.pointer)
            }
            calls += 1
            elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        } while elapsed < minimumSeconds
        return elapsed / Double(calls)
    }

    public static func table(_ rows: [AdaptedLayerRow]) -> ResultTable {
        ResultTable(columns: AdaptedLayerRow.csvColumns, rows: rows.map(\.csvCells))
    }

    /// Tokens per second against rank for the rows of one layer shape, one line per method.
    public static func plot(_ rows: [AdaptedLayerRow], layer: String) -> LogLogPlot {
        let mine = rows.filter { $0.layer == layer }
        let tokens = mine.first?.tokens ?? 0
        return LogLogPlot(
            title: "One adapted layer \(layer), \(tokens) tokens, each its own adapter", xLabel: "rank", yLabel: "tokens/s",
            series: seriesByMethod(mine.map { ($0.method, Double($0.rank), $0.tokensPerSecond) }))
    }
}

/// A bank holding one adapter per token for one method and rank (none for the base model).
private final class LayerSetup {
    let bank: AdapterBank
    let slots: [AdapterSlot]   // [tokens]

    init(method: BenchMethod, rank: Int, tokens: Int, shapes: AdapterTargetShapes, baseWeights: any AdapterBaseWeights) throws {
        let bank = try AdapterBank(capacity: tokens, shapes: shapes)
        bank.loraKernel = method.loraKernel
        bank.groupMergePolicy = method.groupMerge
        self.bank = bank
        guard let kind = method.adapterKind else {
            slots = Array(repeating: AdapterBank.noAdapter, count: tokens)
            return
        }
        let slots = try (0..<tokens).map { t in
            let weights = try AdapterWeights.initialized(
                name: "layer-\(t)", kind: kind, rank: rank, targets: [.qProj], shapes: shapes, seed: UInt64(t + 1), random: true,
                baseWeights: baseWeights)
            return try bank.install(weights)
        }
        try slots.withUnsafeBufferPointer { try bank.prepare(slots: $0.baseAddress!, tokens: tokens) }
        self.slots = slots
    }
}

/// The one layer the benchmark adapts, as DoRA's norm reads it.
private struct OneLayerWeights: AdapterBaseWeights {
    let qProj: Tensor  // [outputs, inputs]
    func adapterBaseWeight(layer: Int, module: TargetModule) -> Tensor? { layer == 0 && module == .qProj ? qProj : nil }
}
