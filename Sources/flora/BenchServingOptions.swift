// Options shared by the serving benchmarks (`flora bench throughput|latency|adapters`) and what
// they do with them: load the model once, describe the run, write the CSV and the plot.

import ArgumentParser
import FloraAdapters
import FloraBench
import FloraEngine
import FloraModel
import Foundation

struct BenchServingOptions: ParsableArguments {
    @Option(help: "Size of the request set: 1 is the paper-sized set (1,000 requests, chat-like lengths); 0.05 is 50 requests with lengths × 0.05.")
    var scale: Double = 0.05

    @Option(name: .long, help: "Number of requests (default: 1000 × --scale).")
    var numRequests: Int?

    @Option(name: .long, help: "Multiplier of prompt and output lengths and their bounds (default: --scale).")
    var lengthScale: Double?

    @Option(help: "Seed of the request set and of the adapters.")
    var seed: UInt64 = 0

    @Option(help: "Comma-separated methods: base, flora, lora-bmm, lora-segmented, ia3, dora, road, flora-expanded (fLoRA without the per-group merge, FLORA_GROUP_MERGE=never) and flora-unkept (the merge, but no merged weight kept across steps).")
    var methods: String = BenchMethod.standard.map(\.rawValue).joined(separator: ",")

    @Option(help: "Repeats of every (method, rank) run, interleaved; figures are medians.")
    var repeats: Int = 3

    @Option(help: "Comma-separated modules the adapters change (default: the attention's query and key projections, q_proj,k_proj or GPTBigCode's c_attn).")
    var targets: String?

    @Option(name: .long, help: "Most sequences in one engine step.")
    var maxNumSeqs: Int = EngineDefaults.maxNumSeqs

    @Option(name: .long, help: "Most tokens in one engine step (default: 8192 × --scale, at least 512).")
    var maxNumBatchedTokens: Int?

    @Option(name: .long, help: "Size of the paged KV cache, in tokens.")
    var kvCacheTokens: Int = EngineDefaults.kvCacheTokens

    @Option(name: .long, help: "Adapter-bank slots (default: as many adapters as the requests use, so none is evicted).")
    var maxResidentAdapters: Int?

    @Flag(name: .long, help: "Turn off the prefix cache.")
    var noPrefixCaching = false

    @Flag(name: .long, help: "Start the clock with the adapters still on disk (default: one warm-up request per adapter first).")
    var cold = false

    @Option(name: .long, help: "Keep the generated adapters in this folder and reuse them in later runs (default: a temporary folder).")
    var adapterCache: String?

    @Option(help: "Write the results as CSV to this file.")
    var csv: String?

    @Option(help: "Draw the results as an SVG plot (log-2 axes) into this file.")
    var plot: String?

    func validate() throws {
        guard scale.isFinite, scale > 0 else { throw ValidationError("--scale must be a positive number, got \(scale)") }
        if let lengthScale, !(lengthScale.isFinite && lengthScale > 0) {
            throw ValidationError("--length-scale must be a positive number, got \(lengthScale)")
        }
        if let numRequests, numRequests < 1 { throw ValidationError("--num-requests must be at least 1, got \(numRequests)") }
        if repeats < 1 { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
        for (name, value) in [("--max-num-seqs", maxNumSeqs), ("--max-num-batched-tokens", maxNumBatchedTokens ?? 1),
                              ("--kv-cache-tokens", kvCacheTokens), ("--max-resident-adapters", maxResidentAdapters ?? 1)] where value < 1 {
            throw ValidationError("\(name) must be at least 1, got \(value)")
        }
        _ = try parsedMethods()
        _ = try parsedTargets()
    }

    func parsedMethods() throws -> [BenchMethod] {
        do { return try BenchMethod.list(methods) } catch { throw ValidationError("--methods: \(error)") }
    }

    func parsedTargets() throws -> [TargetModule]? {
        guard let targets else { return nil }
        do { return try TargetModule.parseList(targets) } catch { throw ValidationError("--targets: \(error)") }
    }

    var workload: WorkloadSpec {
        var spec = WorkloadSpec.scaled(scale, seed: seed)
        if let numRequests { spec.requestCount = numRequests }
        if let lengthScale { spec.lengthScale = lengthScale }
        return spec
    }

    var engine: ServingEngineSettings {
        ServingEngineSettings(
            maxNumSeqs: maxNumSeqs, maxNumBatchedTokens: maxNumBatchedTokens ?? max(512, Int(8192 * scale)),
            kvCacheTokens: kvCacheTokens, enablePrefixCaching: !noPrefixCaching, maxResidentAdapters: maxResidentAdapters)
    }

    func settings(ranks: [Int], workload: WorkloadSpec) throws -> ServingBenchmarkSettings {
        ServingBenchmarkSettings(
            workload: workload, methods: try parsedMethods(), ranks: ranks, repeats: repeats, targets: try parsedTargets(),
            engine: engine, warmUp: !cold)
    }

    /// Loads the model once for every run, and says what will run.
    func harness(modelOptions: ModelOptions, settings: ServingBenchmarkSettings) throws -> ServingHarness {
        let path = try modelOptions.resolvedPath()
        let loaded = try ModelLoader.load(path: path, products: modelOptions.products)
        let model = try loaded.requireModel()
        let harness = try ServingHarness(model: model, tokenizer: loaded.tokenizer)
        let preview = try Workload(spec: settings.workload, tokenIds: harness.promptTokenIds)
        let spec = settings.workload, e = settings.engine
        print("model: \(loaded.name) (\(model.architecture), \(model.dimensions.layerCount) layers, hidden \(model.dimensions.hiddenSize))")
        print("requests: \(preview.requests.count), \(preview.promptTokenCount) prompt and \(preview.outputTokenCount) output tokens; "
            + "prompt lengths \(spec.promptLength), output \(spec.outputLength), × \(spec.lengthScale); seed \(spec.seed)")
        print("engine: max-num-seqs \(e.maxNumSeqs), max-num-batched-tokens \(e.maxNumBatchedTokens), kv-cache-tokens \(e.kvCacheTokens), "
            + "prefix cache \(e.enablePrefixCaching ? "on" : "off"), adapters \(settings.warmUp ? "resident before the clock starts" : "loaded during the run")"
            + (e.maxResidentAdapters.map { ", max-resident-adapters \($0)" } ?? ""))
        let targets = settings.targets ?? model.adapterShapes.defaultTargets(for: .flora)
        print("adapters on \(targets.map(\.rawValue).joined(separator: ",")); methods \(settings.methods.map(\.rawValue).joined(separator: ", ")); "
            + "\(settings.repeats) repeats, interleaved; \(ProcessInfo.processInfo.activeProcessorCount) cores")
        print("")
        fflush(nil)  // the description comes before the progress bar, also when piped
        return harness
    }

    /// Writes the CSV and the plot when asked for.
    func write(table: ResultTable, plot makePlot: () -> LogLogPlot) throws {
        if let csv {
            try Self.writeFile(table.csv, to: csv, what: "--csv")
            print("wrote \(csv)")
        }
        if let plot {
            try Self.writeFile(makePlot().svg, to: plot, what: "--plot")
            print("wrote \(plot)")
        }
    }

    static func writeFile(_ text: String, to path: String, what: String) throws {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ValidationError("\(what): cannot write \(path): \(error.localizedDescription)")
        }
    }
}

/// Runs `body` with a progress bar on standard error.
func withProgressBar<T>(_ title: String, _ body: ((BenchProgress) -> Void) async throws -> T) async throws -> T {
    let bar = ProgressBar(title: title)
    defer { bar.finish() }
    return try await body { bar.update($0) }
}
