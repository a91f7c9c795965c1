// Randomized runs: many requests arriving over time into a small pool, with shared prefixes,
// several adapters (one slow to load, one that fails), a max_loras limit and random aborts.
// The harness checks budgets and the block bookkeeping after every step, and the simulated
// model checks that every finished request generated exactly what it generates alone.

import FloraEngine
import Testing

@Suite struct SchedulerStressTests {
    @Test(arguments: [1, 2, 3] as [UInt64])
    func twoHundredRequestsInASmallPoolAllEndCleanly(seed: UInt64) throws {
        var generator = SeededGenerator(seed: seed)
        let gate = FakeAdapterGate()
        gate.answers["slow"] = .pending
        gate.answers["broken"] = .failed("adapter_config.json names r = 0")
        let harness = try SchedulerHarness(
            config: SchedulerConfig(maxNumSeqs: 12, maxNumBatchedTokens: 48, maxModelLength: 160, maxLoras: 3),
            blockCount: 24, blockSize: 8, gate: gate)
        let systemPrompts = (0..<3).map { _ in randomTokens(24, using: &generator) }
        let adapters: [String?] = [nil, nil, "a", "b", "c", "slow", "broken"]
        var arrivals: [Arrival] = []
        for _ in 0..<200 {
            var prompt = randomTokens(Int.random(in: 1...100, using: &generator), using: &generator)
            if Bool.random(using: &generator) {
                prompt = systemPrompts.randomElement(using: &generator)! + prompt.prefix(76)
            }
            arrivals.append(Arrival(
                step: Int.random(in: 0..<400, using: &generator), prompt: prompt,
                adapterName: adapters.randomElement(using: &generator)!, maxTokens: Int.random(in: 1...40, using: &generator)))
        }
        var aborted: Set<SequenceID> = []
        var abortGenerator = SeededGenerator(seed: seed &+ 100)
        let finished = try harness.run(arrivals: arrivals, maxSteps: 20_000) { harness in
            if harness.steps == 150 { gate.answers["slow"] = .ready }
            let live = harness.scheduler.runningIDs + harness.scheduler.waitingIDs
            if !live.isEmpty, Int.random(in: 0..<100, using: &abortGenerator) < 2 {
                let victim = live.randomElement(using: &abortGenerator)!
                if harness.scheduler.abort(victim) { aborted.insert(victim) }
            }
        }
        #expect(finished)
        #expect(harness.endProblems() == [])
        #expect(harness.requests.count == 200)
        for id in harness.requests.keys {
            let outcome = harness.outcomes[id]
            let name = harness.requests[id]?.adapterName
            if aborted.contains(id) {
                #expect(outcome == nil, "\(id) was aborted")
            } else if name == "broken" {
                #expect(outcome.map { if case .failed = $0 { true } else { false } } == true, "\(id) used the broken adapter")
            } else {
                #expect(outcome == .finished(.length), "\(id) ended with \(String(describing: outcome))")
            }
        }
        #expect(gate.pins.isEmpty)
        #expect(harness.scheduler.preemptionCount > 0)
        #expect(harness.blocks.prefixCacheHitTokens > 0)
    }
}
