// Whole benchmarks on a tiny random model: every row is there, every number is a number, and
// the plots are valid SVG. (Timing itself is never checked.)

import FloraAdapters
import FloraBench
import FloraTestSupport
import Foundation
import Testing

@Suite(.serialized) struct TinyBenchmarkTests {
    static let ranks = [1, 2, 4]

    func harness() throws -> ServingHarness {
        try ServingHarness(model: try TinyModels.model(), tokenizer: try TinyModels.tokenizer())
    }

    func settings(requests: Int = 6, ranks: [Int] = ranks, rate: Double? = nil) -> ServingBenchmarkSettings {
        let workload = WorkloadSpec(
            seed: 1, requestCount: requests, lengthScale: 1,
            promptLength: LengthDistribution(median: 12, sigma: 0.5, minimum: 4, maximum: 40),
            outputLength: LengthDistribution(median: 6, sigma: 0.5, minimum: 2, maximum: 12), arrivalRate: rate)
        return ServingBenchmarkSettings(
            workload: workload, ranks: ranks, repeats: 2, targets: [.qProj, .kProj, .vProj],
            engine: ServingEngineSettings(maxNumSeqs: 4, maxNumBatchedTokens: 32, kvCacheTokens: 1024))
    }

    @Test func everyRequestGeneratesExactlyItsOutputLength() async throws {
        let harness = try harness()
        let workload = try Workload(spec: settings().workload, tokenIds: harness.promptTokenIds)
        let directory = try TestFiles.scratchDirectory()
        let store = try AdapterStore(directory: directory)
        let paths = try store.adapters(
            kind: .flora, rank: 2, targets: [.qProj], shapes: harness.model.adapterShapes, count: workload.distinctAdapters.count)
        let run = try await harness.run(workload, method: .flora, adapterPaths: paths, engine: settings().engine)
        #expect(run.requests.map(\.outputTokens) == workload.requests.map(\.outputTokens))
        #expect(run.requests.map(\.promptTokens) == workload.requests.map { $0.promptTokens.count })
        for r in run.requests {
            #expect(r.interTokenLatencies.count == r.outputTokens - 1)
            #expect(r.timeToFirstToken > 0 && r.timeToFirstToken <= r.latency)
        }
        #expect(run.outputTokensPerSecond > 0 && run.totalTokensPerSecond > run.outputTokensPerSecond)
    }

    @Test func throughputHasARowForEveryMethodAndRank() async throws {
        let benchmark = ThroughputBenchmark(harness: try harness(), settings: settings())
        var progress: [BenchProgress] = []
        let rows = try await benchmark.run { progress.append($0) }
        let expected = Self.ranks.flatMap { r in BenchMethod.standard.map { "\($0.rawValue)/\(r)" } }
        #expect(rows.map { "\($0.method.rawValue)/\($0.rank)" } == expected)
        for row in rows {
            #expect(row.outputTokensPerSecond.isFinite && row.outputTokensPerSecond > 0)
            #expect(row.totalTokensPerSecond > row.outputTokensPerSecond)
            #expect(row.requests == 6)
            #expect(row.adapters == (row.method == .base ? 0 : 6))
            let ratio = try #require(row.ratioToBase)
            #expect(ratio.isFinite && ratio > 0)
            if row.method == .base { #expect(ratio == 1) }
        }
        #expect(progress.last?.completed == Self.ranks.count * 2 * BenchMethod.standard.count)
        #expect(progress.last?.completed == progress.last?.total)

        let csv = ThroughputBenchmark.table(rows).csv.split(separator: "\n")
        #expect(csv.count == rows.count + 1)
        #expect(csv[0] == "method,rank,adapters,requests,output_tokens_per_s,total_tokens_per_s,ratio_to_base")
        let names = try #require(xmlElements(ThroughputBenchmark.plot(rows, title: "tiny").svg))
        #expect(names.filter { $0 == "polyline" }.count == BenchMethod.standard.count)
        #expect(ThroughputBenchmark.summary(rows).contains("fLoRA ÷ lora-bmm"))
    }

    @Test func latencyHasPercentilesForEveryMethodAndRank() async throws {
        let benchmark = LatencyBenchmark(harness: try harness(), settings: settings(ranks: [1, 8], rate: 200))
        let rows = try await benchmark.run()
        #expect(rows.count == 2 * BenchMethod.standard.count)
        for row in rows {
            for p in [row.timeToFirstToken, row.interTokenLatency, row.secondsPerOutputToken] {
                #expect(p.p50 > 0 && p.p50 <= p.p90 && p.p90 <= p.p99)
            }
            #expect(row.rate == 200)
        }
        #expect(xmlElements(LatencyBenchmark.plot(rows, title: "tiny latency").svg) != nil)
    }

    @Test func latencyNeedsARate() async throws {
        await #expect(throws: BenchError.self) { try await LatencyBenchmark(harness: try harness(), settings: settings()).run() }
    }

    @Test func adapterCountsReportDistinctAdapters() async throws {
        var s = settings(requests: 8, ranks: [2])
        s.repeats = 1
        s.methods = [.base, .flora, .loraSegmented]
        let rows = try await AdapterCountBenchmark(harness: try harness(), settings: s, adapterCounts: [1, 4, 64]).run()
        #expect(rows.map(\.adapters) == [1, 1, 1, 4, 4, 4, 64, 64, 64])
        #expect(rows.filter { $0.method != .base }.map(\.distinctAdapters) == [1, 1, 4, 4, 8, 8])
        #expect(rows.allSatisfy { $0.outputTokensPerSecond > 0 })
        #expect(xmlElements(AdapterCountBenchmark.plot(rows, title: "tiny adapters").svg) != nil)
    }

    @Test func theAdaptedLayerBenchmarkCoversEveryMethodAndRank() throws {
        var benchmark = AdaptedLayerBenchmark(quick: true)
        benchmark.shapes = [.init(name: "64", outputs: 64, inputs: 64), .init(name: "96x48", outputs: 96, inputs: 48)]
        benchmark.ranks = [1, 4]
        benchmark.tokens = 5
        benchmark.repeats = 2
        benchmark.minimumRepeatSeconds = 0.001
        let rows = try benchmark.run(peakGFLOPs: 100)
        #expect(rows.count == 2 * 2 * BenchMethod.standard.count)
        #expect(rows.allSatisfy { $0.secondsPerCall > 0 && $0.baseGFLOPs > 0 && ($0.ratioToBase ?? 0) > 0 })
        #expect(AdaptedLayerBenchmark.table(rows).csv.split(separator: "\n").count == rows.count + 1)
        #expect(xmlElements(AdaptedLayerBenchmark.plot(rows, layer: "64").svg) != nil)
    }

    @Test func storedAdaptersAreWrittenOnceAndReused() throws {
        let directory = try TestFiles.scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let shapes = try TinyModels.model().adapterShapes
        let store = try AdapterStore(directory: directory, seed: 3)
        let first = try store.adapters(kind: .lora, rank: 2, targets: [.qProj, .kProj], shapes: shapes, count: 3)
        let file = first[1] + "/adapter_model.safetensors"
        let written = try FileManager.default.attributesOfItem(atPath: file)[.modificationDate] as? Date
        let bytes = FileManager.default.contents(atPath: file)
        var rewrites = 0
        let second = try AdapterStore(directory: directory, seed: 3)
            .adapters(kind: .lora, rank: 2, targets: [.qProj, .kProj], shapes: shapes, count: 5) { _ in rewrites += 1 }
        #expect(Array(second.prefix(3)) == first)
        #expect(try FileManager.default.attributesOfItem(atPath: file)[.modificationDate] as? Date == written)
        #expect(rewrites == 5)
        let loaded = try AdapterLoader.load(folder: second[4], name: "x", shapes: shapes)
        #expect(loaded.kind == .lora && loaded.rank == 2 && loaded.targets == [.qProj, .kProj])
        // Another seed is another set.
        let other = try AdapterStore(directory: directory, seed: 4).adapters(kind: .lora, rank: 2, targets: [.qProj, .kProj], shapes: shapes, count: 2)
        #expect(FileManager.default.contents(atPath: other[1] + "/adapter_model.safetensors") != bytes)
        // A temporary store removes itself.
        let temporary = try AdapterStore(directory: nil)
        _ = try temporary.adapters(kind: .ia3, rank: 8, targets: [.kProj], shapes: shapes, count: 1)
        temporary.removeAll()
        #expect(!FileManager.default.fileExists(atPath: temporary.directory))
    }
}
