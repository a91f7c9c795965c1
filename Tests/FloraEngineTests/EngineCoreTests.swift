// The engine core without a model: a simulated runner whose "logits" pick a token that depends
// on everything a sequence reads back through its block table and on its adapter, and adapter
// loads that the test releases in any order. Every wait here is on a stream or a gate, never
// on the clock.

import Dispatch
import FloraAdapters
import FloraEngine
import FloraModel
import FloraTestSupport
import Foundation
import Synchronization
import Testing

/// A model runner that writes every token into a simulated KV pool and answers with one-hot
/// logits, checking the batch on every step.
final class SimulatedRunner: ModelRunner {
    static let vocabularySize = 257   // TinyModels' tokenizer; 256 is its end of sequence
    let blockSize: Int
    private var pool: [[(token: Int32, adapter: String?)?]]   // [blocks][blockSize]
    let problems: Problems

    /// What went wrong on the core thread, for the test to read.
    final class Problems: Sendable {
        private let list = Mutex<[String]>([])
        func append(_ problem: String) { list.withLock { $0.append(problem) } }
        var all: [String] { list.withLock { $0 } }
    }

    init(blockCount: Int, blockSize: Int, problems: Problems) {
        self.blockSize = blockSize
        self.problems = problems
        pool = Array(repeating: Array(repeating: nil, count: blockSize), count: blockCount)
    }

    /// The token a sequence generates after `tokens` under `adapter`; never the end of sequence.
    static func nextToken(after tokens: [Int32], adapter: String?) -> Int32 {
        SimulatedModel.nextToken(after: tokens, adapterName: adapter) % 256
    }

    static func expected(prompt: [Int32], adapter: String?, count: Int) -> [Int32] {
        var tokens = prompt
        for _ in 0..<count { tokens.append(nextToken(after: tokens, adapter: adapter)) }
        return Array(tokens[prompt.count...])
    }

    func execute(_ batch: Batch, adapters: AdapterBank, row: (Int, UnsafeBufferPointer<Float>) -> Void) throws {
        // A block written this step must belong to one sequence of the batch only.
        var owners: [Int32: Set<Int32>] = [:]
        for (s, sequence) in batch.sequences.enumerated() {
            for block in sequence.blockTable { owners[block, default: []].insert(Int32(s)) }
        }
        for t in 0..<batch.tokenCount {
            let (position, s) = (Int(batch.positions[t]), Int(batch.sequenceOfToken[t]))
            let block = batch.sequences[s].blockTable[position / blockSize]
            if owners[block]!.count > 1 { report("token \(t) writes block \(block), which \(owners[block]!.count) sequences hold") }
            let adapter = batch.adapterSlots[t] == AdapterBank.noAdapter ? nil : adapters.weights(at: batch.adapterSlots[t])?.name
            if batch.adapterSlots[t] != AdapterBank.noAdapter, adapter == nil { report("token \(t) names empty slot \(batch.adapterSlots[t])") }
            pool[Int(block)][position % blockSize] = (batch.tokens[t], adapter)
        }
        var logits = [Float](repeating: 0, count: Self.vocabularySize)
        for (r, t) in batch.logitTokens.enumerated() {
            let (position, s) = (Int(batch.positions[Int(t)]), Int(batch.sequenceOfToken[Int(t)]))
            let table = batch.sequences[s].blockTable
            var seen: [Int32] = []
            var adapter: String?
            for p in 0...position {
                guard let entry = pool[Int(table[p / blockSize])][p % blockSize] else {
                    report("position \(p) of sequence \(s) was never written")
                    continue
                }
                seen.append(entry.token)
                adapter = entry.adapter
            }
            let next = Self.nextToken(after: seen, adapter: adapter)
            logits[Int(next)] = 1
            logits.withUnsafeBufferPointer { row(r, $0) }
            logits[Int(next)] = 0
        }
    }

    private func report(_ problem: String) { problems.append(problem) }
}

/// Adapter loads that wait until the test opens their gate.
final class GatedAdapters: Sendable {
    let shapes: AdapterTargetShapes
    /// When true, loads never wait.
    let open: Bool
    private let gates = Mutex<[String: DispatchSemaphore]>([:])
    let loadOrder = Mutex<[String]>([])

    init(shapes: AdapterTargetShapes, open: Bool = false) {
        self.shapes = shapes
        self.open = open
    }

    private func gate(_ name: String) -> DispatchSemaphore {
        gates.withLock { gates in
            if let gate = gates[name] { return gate }
            let gate = DispatchSemaphore(value: 0)
            gates[name] = gate
            return gate
        }
    }

    func open(_ name: String) { gate(name).signal() }

    var source: AdapterSource {
        AdapterSource(
            inspect: { _, _ in nil },
            load: { request, shapes in
                if !self.open { self.gate(request.name).wait() }
                self.loadOrder.withLock { $0.append(request.name) }
                return try AdapterWeights.initialized(name: request.name, kind: .lora, rank: 2, targets: [.qProj], shapes: shapes, seed: 1)
            })
    }
}

@Suite struct EngineCoreTests {
    let shapes = try! TinyModels.model().adapterShapes

    func engine(
        _ config: EngineConfig, adapters: AdapterSource = .folders, pace: Pace? = nil
    ) throws -> (Engine, SimulatedRunner.Problems) {
        let problems = SimulatedRunner.Problems()
        let simulated = EngineModel(vocabularySize: SimulatedRunner.vocabularySize, contextLength: 4096, adapterShapes: shapes) { count, size in
            SimulatedRunner(blockCount: count, blockSize: size, problems: problems)
        }
        let model = pace.map { simulated.paced(by: $0) } ?? simulated
        return (try Engine(model: model, tokenizer: try TinyModels.tokenizer(), config: config, adapters: adapters), problems)
    }

    func request(_ prompt: [Int32], maxTokens: Int, adapter: String? = nil) -> EngineRequest {
        EngineRequest(promptTokens: prompt, parameters: SamplingParameters(maxTokens: maxTokens), adapterName: adapter)
    }

    @Test func submittedRequestsStreamTheirTokensAndLeaveNothingBehind() async throws {
        let (engine, box) = try engine(EngineConfig(kvCacheTokens: 256))
        let prompts: [[Int32]] = [[1, 2, 3], [4], Array(0..<40)]
        for prompt in prompts {
            let run = await collect(engine.generate(request(prompt, maxTokens: 9)))
            #expect(run.error == nil)
            #expect(run.tokens == SimulatedRunner.expected(prompt: prompt, adapter: nil, count: 9))
            #expect(run.finishReason == .length)
        }
        let snapshot = engine.snapshot()
        #expect(snapshot.freeKVBlocks == snapshot.totalKVBlocks)
        #expect(snapshot.runningRequests == 0 && snapshot.waitingRequests == 0)
        #expect(box.all == [])
    }

    @Test func aRequestCancelledBeforeItStartsLeavesNoTrace() async throws {
        let gated = GatedAdapters(shapes: shapes)
        let (engine, _) = try engine(EngineConfig(kvCacheTokens: 256), adapters: gated.source)
        try await engine.registerAdapter(name: "slow", path: "/slow")
        // Dropped at once: the stream's end cancels the request, posted right behind it.
        _ = engine.generate(request([5, 6, 7], maxTokens: 50))
        // Waits for its adapter, then goes away before it ever runs.
        let waiting = Task { await collect(engine.generate(request([8, 9], maxTokens: 50, adapter: "slow"))) }
        let other = await collect(engine.generate(request([1], maxTokens: 4)))
        #expect(other.tokens == SimulatedRunner.expected(prompt: [1], adapter: nil, count: 4))
        waiting.cancel()
        let cancelled = await waiting.value
        #expect(cancelled.tokens.isEmpty)
        gated.open("slow")
        _ = await collect(engine.generate(request([2], maxTokens: 1)))   // behind the cancellations in the inbox
        let snapshot = engine.snapshot()
        #expect(snapshot.runningRequests == 0 && snapshot.waitingRequests == 0)
        #expect(snapshot.freeKVBlocks == snapshot.totalKVBlocks)
    }

    @Test func aRequestCancelledWhileRunningIsAbortedAndFreesItsBlocks() async throws {
        let pace = Pace()
        let (engine, box) = try engine(EngineConfig(kvCacheTokens: 1024), pace: pace)
        var received: [Int32] = []
        pace.step()
        for try await piece in engine.generate(request([3, 1, 4], maxTokens: 400)) {
            received += piece.tokens.map(\.token)
            if received.count >= 5 { break }   // leaving the loop drops the stream: a cancellation
            pace.step()                        // one more step
        }
        pace.open()                            // from here on the core runs freely
        #expect(received == Array(SimulatedRunner.expected(prompt: [3, 1, 4], adapter: nil, count: received.count)))
        _ = await collect(engine.generate(request([2], maxTokens: 1)))
        let snapshot = engine.snapshot()
        #expect(snapshot.runningRequests == 0)
        #expect(snapshot.freeKVBlocks == snapshot.totalKVBlocks)
        #expect(snapshot.generationTokensTotal < 400)
        #expect(box.all == [])
    }

    @Test func adapterLoadsFinishingOutOfOrderServeEachRequestWithItsOwnAdapter() async throws {
        let gated = GatedAdapters(shapes: shapes)
        let (engine, box) = try engine(EngineConfig(kvCacheTokens: 1024, maxResidentAdapters: 4), adapters: gated.source)
        let names = ["a", "b", "c"]
        for name in names { try await engine.registerAdapter(name: name, path: "/\(name)") }
        let runs = Task {
            await withTaskGroup(of: (String?, EngineRun).self) { group in
                for name in names + [nil] {
                    group.addTask { (name, await collect(engine.generate(self.request([7, 7], maxTokens: 6, adapter: name)))) }
                }
                var runs: [String?: EngineRun] = [:]
                for await (name, run) in group { runs[name] = run }
                return runs
            }
        }
        // The base-model request runs while every adapter is still loading.
        for name in names.reversed() { gated.open(name) }
        let results = await runs.value
        for name in names + [nil] {
            #expect(results[name]?.tokens == SimulatedRunner.expected(prompt: [7, 7], adapter: name, count: 6), "\(name ?? "base")")
        }
        #expect(Set(gated.loadOrder.withLock { $0 }) == Set(names))
        #expect(Set(engine.snapshot().residentAdapters) == Set(names))
        #expect(box.all == [])
    }

    @Test(arguments: [1, 2] as [UInt64])
    func twoHundredSeededRequestsThroughASmallPoolEachGetTheirOwnTokens(seed: UInt64) async throws {
        let gated = GatedAdapters(shapes: shapes, open: true)
        let names = (0..<6).map { "adapter-\($0)" }
        // 12 blocks of 16 tokens, 2 adapter slots: preemption, recomputation and evictions.
        let (engine, box) = try engine(
            EngineConfig(maxNumSeqs: 16, maxNumBatchedTokens: 48, kvCacheTokens: 192, maxResidentAdapters: 2), adapters: gated.source)
        for name in names { try await engine.registerAdapter(name: name, path: "/\(name)") }
        var generator = SeededGenerator(seed: seed)
        struct Case: Sendable { let prompt: [Int32]; let adapter: String?; let maxTokens: Int }
        let cases: [Case] = (0..<200).map { _ in
            let pick = Int(generator.next() % UInt64(names.count + 2))
            return Case(prompt: (0..<(1 + Int(generator.next() % 50))).map { _ in Int32(generator.next() % 256) },
                        adapter: pick < names.count ? names[pick] : nil, maxTokens: 10 + Int(generator.next() % 50))
        }
        // Every request is queued before the first step: the small pool must preempt.
        await engine.pause()
        let streams = cases.map { engine.generate(request($0.prompt, maxTokens: $0.maxTokens, adapter: $0.adapter)) }
        await engine.resume()
        let runs = await withTaskGroup(of: (Int, EngineRun).self) { group in
            for (i, stream) in streams.enumerated() { group.addTask { (i, await collect(stream)) } }
            var runs = [EngineRun](repeating: EngineRun(), count: cases.count)
            for await (i, run) in group { runs[i] = run }
            return runs
        }
        for (i, c) in cases.enumerated() {
            #expect(runs[i].error == nil, "request \(i): \(String(describing: runs[i].error))")
            #expect(runs[i].tokens == SimulatedRunner.expected(prompt: c.prompt, adapter: c.adapter, count: c.maxTokens), "request \(i)")
        }
        let snapshot = engine.snapshot()
        #expect(snapshot.preemptions > 0, "the pool was meant to force preemption")
        #expect(snapshot.freeKVBlocks == snapshot.totalKVBlocks)
        #expect(snapshot.runningRequests == 0 && snapshot.waitingRequests == 0)
        #expect(box.all == [])
    }

    @Test func shutdownRefusesNewRequestsAndEndsTheRunningOnes() async throws {
        let pace = Pace()
        let (engine, _) = try engine(EngineConfig(kvCacheTokens: 4096), pace: pace)
        var long = engine.generate(request([1, 2], maxTokens: 3000)).makeAsyncIterator()
        pace.step()
        let first = try await long.next()
        #expect(first?.tokens.count == 1)
        // One step at a time until the shutdown is in: the request cannot reach its end first.
        let stepper = Task { while !Task.isCancelled { pace.step(); await Task.yield() } }
        await engine.shutdown(timeout: .zero)
        stepper.cancel()
        pace.open()
        var reason: FinishReason?
        while let piece = try await long.next() { reason = piece.finishReason ?? reason }
        #expect(reason == .abort)
        let refused = await collect(engine.generate(request([1], maxTokens: 2)))
        #expect(refused.error as? EngineError == .shuttingDown)
    }
}
